//! CLI behaviour through the real binary on temp databases.

mod harness;

mod bad_input;
mod config;
mod durability;
mod interactive;
mod offline_loop;
mod providers;
mod replicate;
mod simulate;
