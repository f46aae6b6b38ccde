//! Integration tests of the harness: one binary (STYLE 2.8).

mod catalogue;
mod cluster;
mod cluster_cases;
mod faults;
mod fuzz;
mod gate;
mod load;
mod load_cluster;
mod load_reports;
mod load_shared;
mod reference;
mod reports;
mod rules;
mod rules_process;
mod signing_props;
mod support;
mod tls;
