//! The ABI reference's call headings: `docs/abi/hypercalls.md` heads each
//! call `` ### N `name(arguments) -> Output` ``, the signature shared-abi
//! declares for it ([`Hypercall::signature`]: the argument names are the
//! fields of the call's typed request, in register order). The document is
//! only right while the two agree; the test here compares them.

use shared_abi::Hypercall;

/// The call headings of `document`: every `### ` heading that starts with
/// a number, without the `### `.
pub fn call_headings(document: &str) -> Vec<&str> {
    document
        .lines()
        .filter_map(|line| line.strip_prefix("### "))
        .filter(|heading| heading.starts_with(|c: char| c.is_ascii_digit()))
        .collect()
}

/// The heading `docs/abi/hypercalls.md` gives `call`.
pub fn heading(call: Hypercall) -> String {
    format!("{} `{}`", call as u64, call.signature())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::workspace_root;

    #[test]
    fn the_reference_heads_every_call_with_its_typed_signature() {
        let path = workspace_root().join("docs/abi/hypercalls.md");
        let document = std::fs::read_to_string(path).unwrap();
        let expected: Vec<String> = Hypercall::ALL.into_iter().map(heading).collect();
        assert_eq!(
            call_headings(&document),
            expected,
            "docs/abi/hypercalls.md's call headings differ from shared-abi's calls"
        );
    }

    #[test]
    fn headings_are_numbered_level_three_headings() {
        let document = "## Calls\n### 0 `a() -> u32`\ntext\n### Exceptions\n#### 1 x\n";
        assert_eq!(call_headings(document), ["0 `a() -> u32`"]);
        assert_eq!(heading(Hypercall::EventSend), "18 `event_send(port) -> ()`");
    }
}
