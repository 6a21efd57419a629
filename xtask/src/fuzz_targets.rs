//! Aiming the fuzzer at the hypervisor: the addresses of the structures it
//! must not be able to reach (from the hypervisor ELF's symbols), put into
//! the fuzzer's argument string when the bundle is written.

use shared_abi::start_info::ARGS_LEN;

use crate::artifacts::Artifacts;

/// Where the fuzzer's argument string names the hypervisor's addresses;
/// replaced by `hv=O,O,...` when the bundle is written.
pub const HV_PLACEHOLDER: &str = "hv=@";
/// Base of the hypervisor's image (the kernel code model window).
const KERNEL_WINDOW: u64 = 0xffff_ffff_8000_0000;
/// The hypervisor's structures the fuzzer aims at: symbol (demangled, no
/// hash) and an offset into it. The last ones are dropped when the
/// argument string would not fit.
const TARGETS: [(&str, i64); 6] = [
    ("hypervisor::arch::x86_64::idt::IDT", 0),
    ("hypervisor::arch::x86_64::entry::trap_return", 0),
    ("hypervisor::arch::x86_64::gdt::TSS", 0),
    // The kernel stack every entry from a guest runs on, a little below
    // its top where the trap frame lies.
    ("boot_stack_top", -0x100),
    ("hypervisor::domain::table::DOMAINS", 0),
    ("hypervisor::arch::x86_64::gdt::GDT", 0),
];

/// Replaces the placeholder in a fuzzer's argument string with the
/// hypervisor's addresses, dropping the last ones if the string would not
/// fit in a bundle entry.
pub fn expand_args(args: &str, artifacts: &Artifacts) -> Result<String, String> {
    if !args.contains(HV_PLACEHOLDER) {
        return Ok(args.to_string());
    }
    let path = artifacts.hypervisor();
    let image =
        std::fs::read(&path).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let offsets =
        hypervisor_offsets(&image).map_err(|error| format!("{}: {error}", path.display()))?;
    Ok(with_offsets(args, &offsets))
}

fn with_offsets(args: &str, offsets: &[u64]) -> String {
    let mut count = offsets.len();
    loop {
        let list: Vec<String> = offsets[..count]
            .iter()
            .map(|offset| format!("{offset:x}"))
            .collect();
        let expanded = args.replace(HV_PLACEHOLDER, &format!("hv={}", list.join(",")));
        if expanded.len() <= ARGS_LEN || count == 0 {
            return expanded;
        }
        count -= 1;
    }
}

/// The offsets from the kernel window of the [`TARGETS`] in the hypervisor
/// ELF `image`.
pub fn hypervisor_offsets(image: &[u8]) -> Result<Vec<u64>, String> {
    let symbols = symbols(image)?;
    TARGETS
        .iter()
        .map(|(name, delta)| {
            let address = symbols
                .iter()
                .find(|(symbol, _)| symbol == name)
                .map(|(_, address)| *address)
                .ok_or(format!("no symbol `{name}` in the hypervisor"))?;
            address
                .checked_add_signed(*delta)
                .and_then(|address| address.checked_sub(KERNEL_WINDOW))
                .ok_or(format!(
                    "`{name}` at {address:#x} is not in the kernel window"
                ))
        })
        .collect()
}

/// Every symbol of an ELF image, names demangled (without the hash).
fn symbols(image: &[u8]) -> Result<Vec<(String, u64)>, String> {
    use elf::ElfBytes;
    use elf::endian::AnyEndian;
    let file = ElfBytes::<AnyEndian>::minimal_parse(image).map_err(|e| e.to_string())?;
    let (table, strings) = file
        .symbol_table()
        .map_err(|e| e.to_string())?
        .ok_or("no symbol table")?;
    table
        .iter()
        .map(|symbol| {
            let name = strings
                .get(symbol.st_name as usize)
                .map_err(|e| e.to_string())?;
            Ok((demangle(name), symbol.st_value))
        })
        .collect()
}

/// A legacy-mangled Rust name (`_ZN10hypervisor3gdt3TSS17h…E`) as its
/// path (`hypervisor::gdt::TSS`), without the hash and any `.llvm.` suffix;
/// other names as they are.
fn demangle(name: &str) -> String {
    let name = name.split(".llvm.").next().unwrap_or(name);
    let Some(mut rest) = name.strip_prefix("_ZN") else {
        return name.to_string();
    };
    let mut parts = Vec::new();
    while let Some(digits) = rest.find(|c: char| !c.is_ascii_digit()).filter(|&n| n > 0) {
        let Ok(len) = rest[..digits].parse::<usize>() else {
            break;
        };
        let Some(part) = rest.get(digits..digits + len) else {
            break;
        };
        parts.push(part);
        rest = &rest[digits + len..];
    }
    if parts
        .last()
        .is_some_and(|last| last.len() == 17 && last.starts_with('h'))
    {
        parts.pop();
    }
    parts.join("::")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demangles_legacy_rust_names() {
        assert_eq!(
            demangle("_ZN10hypervisor4arch6x86_643gdt3TSS17h611230ff9500a374E.llvm.649180"),
            "hypervisor::arch::x86_64::gdt::TSS"
        );
        assert_eq!(
            demangle("_ZN10hypervisor6domain5table7DOMAINS17h0f63efae4c745c96E"),
            "hypervisor::domain::table::DOMAINS"
        );
        assert_eq!(demangle("boot_stack_top"), "boot_stack_top");
    }

    #[test]
    fn offsets_fit_in_a_bundle_entry() {
        let offsets = [0x12f020, 0x109028, 0x5b02a0, 0x5ccf00, 0x12e0d0, 0x5b0250];
        let args = with_offsets(
            &format!("seed={} calls=4294967295 {HV_PLACEHOLDER}", u64::MAX),
            &offsets,
        );
        assert!(args.len() <= ARGS_LEN, "{args}");
        assert!(
            args.ends_with("hv=12f020,109028,5b02a0,5ccf00,12e0d0"),
            "{args}"
        );
        let args = with_offsets(
            &format!("seed=123456789 calls=1000000 {HV_PLACEHOLDER}"),
            &offsets,
        );
        assert!(args.ends_with(",5b0250"), "{args}");
        // Too long for every address: the last ones are dropped.
        let args = with_offsets(&format!("{} {HV_PLACEHOLDER}", "x".repeat(60)), &offsets);
        assert!(
            args.len() <= ARGS_LEN && args.ends_with("hv=12f020,109028"),
            "{args}"
        );
    }
}
