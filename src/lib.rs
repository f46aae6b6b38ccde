//! pushcheck: conformance and load testing for Pusher Channels compatible servers.
