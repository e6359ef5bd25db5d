//! End-to-end tests of the embedded Auto Scaling simulator, through the real SDK client.
