//! The signed HTTP API (spec 5.5, 8): authentication, publishing, queries.

mod auth;
mod events;
mod queries;
