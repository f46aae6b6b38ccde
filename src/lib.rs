//! pushcheck
