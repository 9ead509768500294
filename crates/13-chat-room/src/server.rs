//! The three servers, one file each. `chat-server --model` picks one.

pub mod polling;
pub mod tasks;
pub mod threads;
