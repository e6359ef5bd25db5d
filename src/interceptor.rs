//! SDK integration: interceptor and classifier (work in progress).
