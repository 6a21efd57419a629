//! The hypercall fuzzer's library side: its random numbers ([`rng`]), what
//! it calls next and what the answer must be ([`plan`]), the garbage it
//! writes into the pages it shares with the hypervisor ([`garbage`]), and
//! its summary ([`tally`]). The guest itself is `src/bin/fuzz.rs`.

/// One of the listed values, all of them evaluated first (so the number of
/// random draws never depends on which is picked).
macro_rules! pick {
    ($rng:expr, [$($item:expr),* $(,)?]) => {{
        let items = [$($item),*];
        $rng.pick(&items)
    }};
}

pub mod garbage;
pub mod plan;
pub mod rng;
pub mod tally;
