//! Integration tests of the harness: one binary (STYLE 2.8).

mod signing_props;
