//! CLI behaviour through the real binary on temp databases.

mod harness;

mod bad_input;
mod cancel;
mod config;
mod dashboard;
mod doctor;
mod durability;
mod evolution;
mod history;
mod interactive;
mod issue13_http;
mod leonardo;
mod offline_loop;
mod providers;
mod replicate;
mod report;
mod search;
mod simulate;
mod transfer;
