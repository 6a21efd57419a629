//! Names and properties of the x86 exception vectors.

/// Vector of the debug exception (the single-step trap).
pub const DEBUG: u8 = 1;
/// Vector of the breakpoint trap (`int3`).
pub const BREAKPOINT: u8 = 3;
/// Vector of the stack-segment fault.
pub const STACK_FAULT: u8 = 12;
/// Vector of the general-protection fault.
pub const GENERAL_PROTECTION: u8 = 13;
/// Vector of the page fault.
pub const PAGE_FAULT: u8 = 14;
/// The exception's name as used in reports.
pub fn name(vector: u8) -> &'static str {
    match vector {
        0 => "divide error",
        1 => "debug exception",
        2 => "non-maskable interrupt",
        3 => "breakpoint",
        4 => "overflow",
        5 => "bound range exceeded",
        6 => "invalid opcode",
        7 => "device not available",
        8 => "double fault",
        10 => "invalid TSS",
        11 => "segment not present",
        12 => "stack-segment fault",
        13 => "general protection fault",
        14 => "page fault",
        16 => "x87 floating-point error",
        17 => "alignment check",
        18 => "machine check",
        19 => "SIMD floating-point exception",
        20 => "virtualization exception",
        21 => "control protection exception",
        32 => "event upcall",
        33 => "system call",
        _ => "reserved exception",
    }
}

/// Whether the CPU pushes an error code for this vector.
pub const fn has_error_code(vector: u8) -> bool {
    matches!(vector, 8 | 10 | 11 | 12 | 13 | 14 | 17 | 21 | 29 | 30)
}

/// Describes a page-fault error code: "not present, write, user".
pub fn page_fault_cause(error_code: u64) -> &'static str {
    match (
        error_code & 1 != 0,
        error_code & 2 != 0,
        error_code & 16 != 0,
    ) {
        (_, _, true) => "instruction fetch",
        (false, true, _) => "write to an unmapped page",
        (false, false, _) => "read of an unmapped page",
        (true, true, _) => "write to a protected page",
        (true, false, _) => "read of a protected page",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_causes() {
        assert_eq!(name(0), "divide error");
        assert_eq!(name(GENERAL_PROTECTION), "general protection fault");
        assert!(has_error_code(PAGE_FAULT) && !has_error_code(3));
        assert_eq!(page_fault_cause(0b110), "write to an unmapped page");
        assert_eq!(page_fault_cause(0b10101), "instruction fetch");
    }
}
