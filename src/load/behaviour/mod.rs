//! The behaviours of simulated clients, one file each, on one shared
//! receive path ([`client`]). Connected behaviours (subscriber, client
//! events, attacker) share one task shape ([`connected`]); churners and
//! HTTP publishers have their own.

mod attacker;
mod churner;
mod client;
mod client_events;
mod connected;
mod publisher;
mod subscriber;

pub(crate) use churner::churner;
pub(crate) use client::{Client, Heard, On};
pub(crate) use connected::connected;
pub(crate) use publisher::publisher;
