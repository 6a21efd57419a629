//! Hostile: spawns children (`/bin/exit`) as fast as it can until the
//! kernel refuses, waits for them, and does it again (`storm ROUNDS`).
#![no_std]
#![no_main]

use user::{Args, println, sys};

user::entry!(main);

fn main(args: Args) -> u64 {
    let rounds = args.number(1, 3);
    let mut pids = [0u64; 64];
    for round in 0..rounds {
        let mut count = 0;
        let refusal = loop {
            if count == pids.len() {
                break None;
            }
            match sys::spawn("/bin/exit", &["exit", "7"]) {
                Ok(pid) => {
                    pids[count] = pid;
                    count += 1;
                }
                Err(error) => break Some(error),
            }
        };
        let mut statuses_ok = 0;
        for pid in &pids[..count] {
            if sys::wait(*pid) == Ok(7) {
                statuses_ok += 1;
            }
        }
        println!(
            "storm: round {round}: {count} children until {}, {statuses_ok} exited with 7",
            refusal.map_or("no refusal", |e| e.name())
        );
    }
    0
}
