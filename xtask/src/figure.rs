//! One figure a bench boot measured, as `cargo xtask bench` reads it from
//! the serial log (shared by the bench table and the three-ways table).

/// One measured figure.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    pub metric: String,
    pub value: u64,
    pub samples: u64,
}
