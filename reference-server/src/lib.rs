//! reference server

pub mod webhooks;
