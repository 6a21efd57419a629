//! One operator's terminal shared by many domains.
//!
//! The [`Multiplexer`] keeps every domain's lines apart, each complete
//! line carrying its domain's `[name] ` prefix; it shows the focused
//! domain's unfinished line (its prompt, what is being typed) and reads
//! the operator's keys: `Ctrl-A` commands switch focus, list the domains,
//! print their counters or end input ([`escape`]), other keys go to the
//! focused domain. It knows no hypervisor and no device: it writes the
//! terminal's bytes through a closure and asks a [`Host`] for what only
//! the machine knows (which domains run, their names, their counters,
//! where input goes). [`Multiplexer::show`] shows the records of
//! `shared_abi::console_feed`, in which the hypervisor hands a console
//! server the early console, its own lines and the keys (the split
//! console rings reach the server directly).
//!
//! The crate is `no_std` (with `alloc`) and unit-tested on the host.
#![no_std]

extern crate alloc;

pub mod escape;
mod feed;
mod multiplexer;
pub mod screen;

pub use multiplexer::{Host, Multiplexer, NAME_MAX, Name};
