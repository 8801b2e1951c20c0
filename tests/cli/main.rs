//! CLI behaviour through the real binary on temp databases.

mod backend;
#[path = "../support/comfy_fake.rs"]
mod comfy_fake;
mod harness;
#[path = "../support/s3.rs"]
mod s3_support;
#[path = "../tiny_onnx/mod.rs"]
mod tiny_onnx;

mod bad_input;
mod cancel;
mod comfyui;
mod config;
mod context;
mod dashboard;
mod doctor;
mod durability;
mod ecosystem;
mod embedding;
mod evolution;
mod history;
mod interactive;
mod issue13_http;
mod issue13_leaks;
mod knobs;
mod leonardo;
mod modern_arms;
mod offline_loop;
mod prefer;
mod providers;
mod render_features;
mod replicate;
mod report;
mod s3;
mod search;
mod serve;
mod serve_browser;
mod shortlist;
mod simulate;
mod studio_store;
mod terminal_images;
mod timestamps;
mod transfer;
