//! Integration tests of the reference server: the real server on
//! `127.0.0.1:0`, driven by a raw WebSocket client, signed HTTP requests and a
//! webhook sink (STYLE 2.8). One module per area of issue 2; test names are
//! sentences.

mod binary;
mod cache;
mod client_events;
mod connection;
mod framing;
mod half_open;
mod metrics;
mod presence;
mod rest;
mod rfc6455;
mod signin;
mod slow_consumer;
mod subscriptions;
mod support;
mod tls;
mod webhooks;
