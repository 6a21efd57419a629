//! The bench's comparison of the three techniques: the `workload` guest
//! booted three times in one machine, through the hypercall interface
//! (`pv`), with native instructions trapped and emulated (`emulated`) and
//! patched in place (`patched`), one after the other; each operation's
//! median and the whole workload's total, side by side, with the ratios
//! to the paravirtual figure, as one table.

use std::fmt::Write as _;
use std::sync::Arc;

use shared_abi::bundle::EntryExtras;

use crate::bundle::GuestSpec;
use crate::emulation_scenarios::WORKLOAD_DOMAINS;
use crate::figure::Figure;
use crate::qemu::Accel;

/// The operations compared, in table order.
pub const OPERATIONS: [&str; 5] = [
    "cli_sti",
    "cr3_switch",
    "invlpg",
    "console_byte",
    "workload",
];
/// The techniques, in table order; the first is every ratio's baseline.
pub const TECHNIQUES: [&str; 3] = ["pv", "emulated", "patched"];

/// Every metric with its baseline (`None` for the paravirtual figures).
pub fn metrics() -> Vec<(String, Option<String>)> {
    OPERATIONS
        .iter()
        .flat_map(|operation| {
            TECHNIQUES.iter().map(move |technique| {
                let baseline =
                    (*technique != TECHNIQUES[0]).then(|| format!("{operation}_{}", TECHNIQUES[0]));
                (format!("{operation}_{technique}"), baseline)
            })
        })
        .collect()
}

/// The bundle of the comparison boot: the workload once per technique.
pub fn guests(workload: Arc<[u8]>) -> Vec<GuestSpec> {
    WORKLOAD_DOMAINS
        .iter()
        .map(|(name, mode, args)| GuestSpec {
            name: (*name).into(),
            args: (*args).into(),
            image: workload.clone(),
            extras: EntryExtras {
                mode: *mode,
                ..EntryExtras::default()
            },
        })
        .collect()
}

/// The comparison as one table: per operation the three figures and the
/// two ratios to the paravirtual one.
pub fn table(figures: &[Figure], accel: Accel) -> String {
    let value = |metric: &str| figures.iter().find(|f| f.metric == metric).map(|f| f.value);
    let unit = match accel {
        Accel::TcgIcount => "instructions",
        _ => "TSC cycles",
    };
    let mut out = format!(
        "three ways to virtualize ({unit}; operations: medians, workload: whole run)\n\
         {:<14} {:>10} {:>10} {:>10} {:>12} {:>11}\n",
        "operation", "pv", "emulated", "patched", "emulated/pv", "patched/pv"
    );
    for operation in OPERATIONS {
        let [pv, emulated, patched] = TECHNIQUES.map(|t| value(&format!("{operation}_{t}")));
        let shown = |v: Option<u64>| v.map_or("missing".to_string(), |v| v.to_string());
        let ratio = |v: Option<u64>| match (v, pv) {
            (Some(v), Some(base)) if base > 0 => format!("{:.1}", v as f64 / base as f64),
            _ => "-".to_string(),
        };
        let _ = writeln!(
            out,
            "{operation:<14} {:>10} {:>10} {:>10} {:>12} {:>11}",
            shown(pv),
            shown(emulated),
            shown(patched),
            ratio(emulated),
            ratio(patched)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(metric: &str, value: u64) -> Figure {
        Figure {
            metric: metric.into(),
            value,
            samples: 1,
        }
    }

    #[test]
    fn metrics_carry_the_technique_and_the_pv_baseline() {
        let metrics = metrics();
        assert_eq!(metrics.len(), 15);
        assert!(metrics.contains(&("cli_sti_pv".into(), None)));
        assert!(metrics.contains(&("workload_patched".into(), Some("workload_pv".into()))));
    }

    #[test]
    fn the_table_shows_ratios_to_pv() {
        let figures = [
            figure("cli_sti_pv", 10),
            figure("cli_sti_emulated", 1000),
            figure("cli_sti_patched", 500),
        ];
        let table = table(&figures, Accel::TcgIcount);
        let row = table.lines().find(|l| l.starts_with("cli_sti")).unwrap();
        assert!(row.contains("100.0") && row.contains("50.0"), "{row}");
        assert!(table.contains("instructions"));
        let row = table.lines().find(|l| l.starts_with("workload")).unwrap();
        assert!(row.contains("missing"), "{row}");
    }

    #[test]
    fn one_domain_per_technique() {
        let specs = guests(Arc::from(&b"ELF"[..]));
        let names: Vec<_> = specs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, TECHNIQUES);
    }
}
