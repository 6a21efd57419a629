//! `cargo xtask new-guest DIR`: creates a guest kernel as a crate of its own,
//! outside this workspace, named after DIR's last component.
//!
//! The crate depends on this checkout's `shared-abi` (feature `guest`, by
//! absolute path) and on `bootloader_api` at the workspace's version; its
//! own `[workspace]` table keeps a parent workspace from swallowing it, and
//! its `.cargo/config.toml` and `rust-toolchain.toml` make a plain
//! `cargo build --release` produce `target/x86_64-unknown-none/release/NAME`.
//! The `new-guest-scaffold` scenario creates, builds and boots one.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use crate::guest_template as template;
use crate::paths::{TARGET, workspace_root};

/// Names Cargo or the toolchain reserve, besides Rust's keywords.
const RESERVED: [&str; 9] = [
    "alloc",
    "build",
    "core",
    "deps",
    "examples",
    "incremental",
    "proc_macro",
    "std",
    "test",
];

/// Rust's keywords (strict and reserved), which cannot name a crate.
const KEYWORDS: [&str; 52] = [
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// The arguments of `new-guest`: exactly one directory.
pub fn parse_args(words: &[String]) -> Result<PathBuf, String> {
    match words {
        [dir] if !dir.starts_with('-') => Ok(PathBuf::from(dir)),
        [] => Err("new-guest needs a directory: cargo xtask new-guest DIR".to_string()),
        [word] => Err(format!(
            "unknown argument `{word}` for `new-guest` (try `cargo xtask new-guest --help`)"
        )),
        [_, extra, ..] => Err(format!("new-guest takes one directory, not also `{extra}`")),
    }
}

/// `cargo xtask new-guest DIR`: creates the crate and says how to build it.
pub fn run(dir: &Path) -> Result<ExitCode, String> {
    let name = create(dir)?;
    println!("created guest crate `{name}` in {}", dir.display());
    println!("build it:  cd {} && cargo build --release", dir.display());
    println!(
        "boot it:   cargo xtask run --guest {}",
        dir.join("target")
            .join(TARGET)
            .join("release")
            .join(&name)
            .display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Whether a package of this checkout's `Cargo.lock` (its crates and
/// everything they depend on) is called `name` (`-` and `_` alike).
fn taken_by_a_package(name: &str) -> bool {
    let normal = |text: &str| text.replace('-', "_");
    let lock = std::fs::read_to_string(workspace_root().join("Cargo.lock")).unwrap_or_default();
    lock.lines()
        .filter_map(|line| line.strip_prefix("name = \""))
        .filter_map(|rest| rest.strip_suffix('"'))
        .any(|package| normal(package) == normal(name))
}

/// The crate name DIR gives, or why it gives none.
pub fn crate_name(dir: &Path) -> Result<String, String> {
    let Some(last) = dir.file_name() else {
        return Err(format!(
            "`{}` has no last component to name the crate after",
            dir.display()
        ));
    };
    let Some(name) = last.to_str() else {
        return Err(format!("`{}` is not valid UTF-8", last.to_string_lossy()));
    };
    let invalid = |why: &str| Err(format!("`{name}` is not a valid crate name: {why}"));
    match name.chars().next() {
        None => return invalid("it is empty"),
        Some(first) if first.is_ascii_digit() => return invalid("it starts with a digit"),
        Some('-') => return invalid("it starts with `-`"),
        _ => {}
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return invalid(&format!(
            "`{bad}` is not allowed (use ASCII letters, digits, `-` and `_`)"
        ));
    }
    if KEYWORDS.contains(&name) {
        return invalid("it is a Rust keyword");
    }
    if RESERVED.contains(&name) || RESERVED.contains(&name.replace('-', "_").as_str()) {
        return invalid("Cargo or the standard library reserves it");
    }
    if taken_by_a_package(name) {
        return invalid(
            "a package this checkout builds or depends on has it, and Cargo cannot tell the two apart",
        );
    }
    Ok(name.to_string())
}

/// Creates the crate in `dir` (which must not exist or be empty); returns
/// its name.
pub fn create(dir: &Path) -> Result<String, String> {
    let name = crate_name(dir)?;
    if dir.exists() {
        let mut entries = fs::read_dir(dir)
            .map_err(|error| format!("{} exists but cannot be listed: {error}", dir.display()))?;
        if entries.next().is_some() {
            return Err(format!("{} exists and is not empty", dir.display()));
        }
    }
    let root = workspace_root();
    let files = [
        ("Cargo.toml", template::manifest(&name, &root)?),
        (".cargo/config.toml", template::CARGO_CONFIG.to_string()),
        (
            "rust-toolchain.toml",
            template::read(&root.join("rust-toolchain.toml"))?,
        ),
        (".gitignore", "/target\n".to_string()),
        ("src/main.rs", template::MAIN_RS.replace("NAME", &name)),
    ];
    for (path, contents) in files {
        let path = dir.join(path);
        let parent = path.parent().unwrap_or(dir);
        fs::create_dir_all(parent)
            .and_then(|()| fs::write(&path, contents))
            .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    }
    Ok(name)
}

/// Runs `cargo build --release` in the crate at `dir` with the cargo that
/// runs this program (the workspace's toolchain); returns the binary.
pub fn build(dir: &Path) -> Result<PathBuf, String> {
    let name = crate_name(dir)?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "--release"])
        .current_dir(dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run cargo: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "`cargo build --release` in {} failed ({}):\n{}",
            dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        ));
    }
    let binary = dir.join("target").join(TARGET).join("release").join(name);
    match binary.is_file() {
        true => Ok(binary),
        false => Err(format!("the build did not produce {}", binary.display())),
    }
}

/// The crate the `new-guest-scaffold` scenario creates.
pub const SCAFFOLD_NAME: &str = "scaffolded-guest";

/// Where the `new-guest-scaffold` scenario leaves the ELF it built.
pub fn scaffold_image() -> PathBuf {
    crate::paths::target_dir()
        .join("new-guest")
        .join(SCAFFOLD_NAME)
}

/// The `new-guest-scaffold` scenario's preparation: creates the crate in a
/// fresh temporary directory below an unrelated workspace (which its own
/// `[workspace]` table must keep it out of), builds it with
/// `cargo build --release` there, and copies the ELF to [`scaffold_image`].
pub fn scaffold_and_build() -> Result<(), String> {
    let base = std::env::temp_dir().join(format!("xtask-new-guest-{}", std::process::id()));
    let result = (|| {
        fs::create_dir_all(&base)
            .and_then(|()| fs::write(base.join("Cargo.toml"), "[workspace]\nmembers = []\n"))
            .map_err(|error| format!("cannot prepare {}: {error}", base.display()))?;
        let dir = base.join(SCAFFOLD_NAME);
        create(&dir)?;
        let binary = build(&dir)?;
        let image = scaffold_image();
        fs::create_dir_all(image.parent().unwrap_or(Path::new(".")))
            .and_then(|()| fs::copy(&binary, &image))
            .map_err(|error| format!("cannot copy {}: {error}", binary.display()))?;
        Ok(())
    })();
    let _ = fs::remove_dir_all(&base);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_exactly_one_directory() {
        let words = |line: &str| {
            line.split_whitespace()
                .map(String::from)
                .collect::<Vec<_>>()
        };
        assert_eq!(parse_args(&words("../g")), Ok(PathBuf::from("../g")));
        assert!(parse_args(&words("")).is_err());
        assert!(parse_args(&words("--force")).is_err());
        assert!(parse_args(&words("a b")).is_err());
    }

    #[test]
    fn names_come_from_the_last_component() {
        assert_eq!(
            crate_name(Path::new("/tmp/a/my-guest")),
            Ok("my-guest".into())
        );
        assert_eq!(crate_name(Path::new("guest_2")), Ok("guest_2".into()));
        for bad in [
            "2fast",
            "-x",
            "my guest",
            "über",
            "fn",
            "test",
            "std",
            "proc-macro",
            "shared-abi",
            "shared_abi",
            "spin",
        ] {
            assert!(crate_name(Path::new(bad)).is_err(), "{bad}");
        }
        assert!(crate_name(Path::new("/")).is_err());
        assert!(crate_name(Path::new("a/..")).is_err());
    }

    #[test]
    fn refuses_a_non_empty_directory_and_fills_an_empty_one() {
        let base = std::env::temp_dir().join(format!("xtask-new-guest-{}", std::process::id()));
        let dir = base.join("empty-guest");
        fs::create_dir_all(&dir).unwrap();
        assert_eq!(create(&dir), Ok("empty-guest".into()));
        let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(manifest.contains("name = \"empty-guest\""));
        assert!(manifest.contains("\n[workspace]\n"));
        assert!(manifest.contains(&workspace_root().join("shared-abi").display().to_string()));
        let main = fs::read_to_string(dir.join("src/main.rs")).unwrap();
        assert!(main.contains("println!(\"empty-guest: hello"));
        let error = create(&dir).unwrap_err();
        assert!(error.ends_with("exists and is not empty"), "{error}");
        fs::remove_dir_all(&base).unwrap();
    }
}
