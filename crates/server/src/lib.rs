//! The Connect360 server: the messages API over tRPC, with an embedded SQLite
//! store, attachments kept in file storage beside it, and AI agents that
//! reply when a send asks them to (see [`ai`]).

pub mod ai;
pub mod app;
pub mod assets;
pub mod attachments;
pub mod auth;
pub mod backend;
pub mod cli;
pub mod clock;
pub mod cors;
pub mod csrf;
pub mod demo;
pub mod domain;
pub mod error;
pub mod events;
pub mod extract;
#[cfg(test)]
mod fixtures;
pub mod health;
pub mod hub;
pub mod ids;
pub mod inbox_events;
pub mod inbox_page;
pub mod key_cache;
pub mod limits;
pub mod lock;
pub mod memory;
pub mod password;
pub mod pg_events;
pub mod procedures;
pub mod rate_limit;
pub mod session;
pub mod sign_in;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod template;
pub mod trpc;
pub mod upstream;
pub mod validate;
pub mod visitor_token;
