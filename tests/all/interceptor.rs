//! SDK interceptor tests.
