//! The README's guest listing: the "Writing a guest" section shows
//! `guest-kernel/src/bin/readme-guest.rs` in full, and the `readme-guest`
//! scenario boots that file, so the listing is only honest while the two are
//! identical. The test here compares them.

/// The first ```` ```rust ```` block after the `## Writing a guest` heading
/// of `readme`, without its fences.
pub fn guest_listing(readme: &str) -> Option<&str> {
    let section = &readme[readme.find("\n## Writing a guest\n")?..];
    let start = section.find("\n```rust\n")? + "\n```rust\n".len();
    let length = section[start..].find("\n```\n")? + 1;
    Some(&section[start..start + length])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::workspace_root;

    #[test]
    fn readme_shows_the_booted_guest_verbatim() {
        let root = workspace_root();
        let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
        let file =
            std::fs::read_to_string(root.join("guest-kernel/src/bin/readme-guest.rs")).unwrap();
        let listing = guest_listing(&readme).expect("no rust listing in `Writing a guest`");
        assert!(
            listing == file,
            "README.md's listing differs from readme-guest.rs: copy the file into the README"
        );
    }

    #[test]
    fn finds_the_listing_of_the_section_only() {
        let readme =
            "# x\n```rust\nother\n```\n## Writing a guest\ntext\n```rust\nfn a() {}\n```\n";
        assert_eq!(guest_listing(readme), Some("fn a() {}\n"));
        assert_eq!(guest_listing("## Writing a guest\nno code\n"), None);
    }
}
