//! Checks of the file-system scenarios' logs against what the host wrote:
//! checksums of files streamed by the guest, the heap's size, and the
//! random-damage rule (each read errors or returns the exact bytes, unless
//! the damage hit bytes that decide that file's content).

use crate::disk_damage::RANDOM_FILES;
use crate::disk_image::{self, BIG_FILE_BYTES};
use crate::log_checks::fnv1a;

/// The bytes the host put at `path` of the test tree.
fn host_file(path: &str) -> Result<Vec<u8>, String> {
    let file = disk_image::test_tree_dir().join(path.trim_start_matches('/'));
    std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))
}

/// The line `sum PATH` prints in `domain` for the host's `file`.
fn sum_line(domain: &str, path: &str, data: &[u8]) -> String {
    format!(
        "[{domain}] fnv1a {:016x} {} bytes {path}",
        fnv1a(data),
        data.len()
    )
}

fn require(log: &str, line: &str) -> Result<(), String> {
    match log.lines().any(|l| l.trim_end_matches('\r') == line) {
        true => Ok(()),
        false => Err(format!("missing the line `{line}`")),
    }
}

/// The large file (more than 8 MiB) and a file reached through a
/// block-stored symbolic link read with the host's checksums, on the ext2
/// domain `alpha` and the ext4 domain `beta`.
pub fn streamed_files_match_the_host(log: &str) -> Result<(), String> {
    let big = host_file("/big.bin")?;
    if big.len() != BIG_FILE_BYTES {
        return Err(format!("big.bin has {} bytes on the host", big.len()));
    }
    let numbers = host_file("/docs/numbers.txt")?;
    for domain in ["alpha", "beta"] {
        require(log, &sum_line(domain, "/big.bin", &big))?;
        require(log, &sum_line(domain, "/links/long", &numbers))?;
    }
    Ok(())
}

/// `mem` shows a heap of at least half the domain's memory.
pub fn heap_follows_memory(log: &str) -> Result<(), String> {
    let line = log
        .lines()
        .find(|l| l.starts_with("[alpha]") && l.contains("heap of"))
        .ok_or("no `mem` line")?;
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|word| word.parse().ok())
        .collect();
    match numbers[..] {
        [_, memory, heap] if heap * 2 >= memory => Ok(()),
        _ => Err(format!("the heap does not follow the memory: `{line}`")),
    }
}

/// Each randomly damaged domain answered every command and shut down
/// cleanly, and each file read either failed or gave the host's bytes,
/// unless the damage hit that file's own bytes.
pub fn random_damage_reads_are_exact_or_errors(log: &str) -> Result<(), String> {
    judge_recorded(log, "fs-random-damage")
}

/// As [`random_damage_reads_are_exact_or_errors`], for the ext4 images.
pub fn random_ext4_damage_reads_are_exact_or_errors(log: &str) -> Result<(), String> {
    judge_recorded(log, "fs-random-damage-ext4")
}

fn judge_recorded(log: &str, scenario: &str) -> Result<(), String> {
    let record_path = crate::paths::disks().join(format!("{scenario}.damage"));
    let record = std::fs::read_to_string(&record_path)
        .map_err(|e| format!("cannot read {}: {e}", record_path.display()))?;
    judge_random_damage(log, &record, &host_file)
}

/// The domain damaged from `seed` on a filesystem of `kind`.
pub fn random_domain(kind: &str, seed: u64) -> String {
    match kind {
        "ext4" => format!("ext4-seed-{seed}"),
        _ => format!("seed-{seed}"),
    }
}

/// [`random_damage_reads_are_exact_or_errors`] with the damage `record`
/// (`KIND seed S hit FILE...` per domain, in domain order) and the host's
/// files given.
fn judge_random_damage(
    log: &str,
    record: &str,
    host: &dyn Fn(&str) -> Result<Vec<u8>, String>,
) -> Result<(), String> {
    let lines: Vec<&str> = log.lines().map(|l| l.trim_end_matches('\r')).collect();
    for (index, entry) in record.lines().enumerate() {
        let words: Vec<&str> = entry.split_whitespace().collect();
        let (Some(kind), Some(&"seed"), Some(seed)) = (words.first(), words.get(1), words.get(2))
        else {
            return Err(format!("bad damage record `{entry}`"));
        };
        let seed: u64 = seed
            .parse()
            .map_err(|_| format!("bad damage record `{entry}`"))?;
        let hit = &words[4.min(words.len())..];
        let domain = random_domain(kind, seed);
        require(log, &format!("[{domain}] alive")).map_err(|e| format!("seed {seed}: {e}"))?;
        require(
            log,
            &format!("hv: domain {} '{domain}' shut down with code 0", index + 1),
        )
        .map_err(|e| format!("seed {seed}: {e}"))?;
        for file in RANDOM_FILES {
            let exact = sum_line(&domain, file, &host(file)?);
            let prefix = format!("[{domain}] fnv1a ");
            let suffix = format!(" bytes {file}");
            let got = lines
                .iter()
                .find(|l| l.starts_with(&prefix) && l.ends_with(&suffix));
            match got {
                Some(line) if **line != exact && !hit.contains(&file) => {
                    return Err(format!(
                        "seed {seed}: {file} read as `{line}`, the host wrote `{exact}`, and the damage did not touch its bytes"
                    ));
                }
                Some(_) => {}
                None => {
                    let error = format!("[{domain}] {file}: ");
                    let no_fs = format!("[{domain}] no filesystem");
                    if !lines
                        .iter()
                        .any(|l| l.starts_with(&error) || l.starts_with(&no_fs))
                    {
                        return Err(format!("seed {seed}: no answer for {file}"));
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(_: &str) -> Result<Vec<u8>, String> {
        Ok(b"abc".to_vec())
    }

    /// A log in which domain `seed-7` answered `answer(file)` for each file.
    fn log(answer: impl Fn(&str) -> String) -> String {
        let mut log = String::new();
        for file in RANDOM_FILES {
            log.push_str(&format!("[seed-7] {}\n", answer(file)));
        }
        log.push_str("[seed-7] alive\nhv: domain 1 'seed-7' shut down with code 0\n");
        log
    }

    #[test]
    fn random_damage_judge_accepts_exact_bytes_and_errors() {
        let good = sum_line("seed-7", "/x", b"abc");
        let good = good.trim_end_matches(" /x").trim_start_matches("[seed-7] ");
        let exact = log(|file| format!("{good} {file}"));
        assert_eq!(
            judge_random_damage(&exact, "ext2 seed 7 hit \n", &host),
            Ok(())
        );
        let errors = log(|file| format!("{file}: corrupt filesystem: something"));
        assert_eq!(
            judge_random_damage(&errors, "ext2 seed 7 hit \n", &host),
            Ok(())
        );
    }

    #[test]
    fn random_damage_judge_rejects_wrong_bytes_unless_the_file_was_hit() {
        let wrong = log(|file| format!("fnv1a 0000000000000000 3 bytes {file}"));
        assert!(judge_random_damage(&wrong, "ext2 seed 7 hit /hello.txt\n", &host).is_err());
        let all = format!("ext2 seed 7 hit {}\n", RANDOM_FILES.join(" "));
        assert_eq!(judge_random_damage(&wrong, &all, &host), Ok(()));
    }

    #[test]
    fn random_damage_judge_requires_the_domain_to_survive() {
        let errors = log(|file| format!("{file}: an error"));
        let crashed = errors.replace("shut down with code 0", "shut down with code 101");
        assert!(judge_random_damage(&crashed, "ext2 seed 7 hit \n", &host).is_err());
        let silent = log(|_| "something else".into());
        assert!(judge_random_damage(&silent, "ext2 seed 7 hit \n", &host).is_err());
    }
}
