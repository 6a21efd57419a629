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
    let record_path = disk_image::directory().join("fs-random-damage.damage");
    let record = std::fs::read_to_string(&record_path)
        .map_err(|e| format!("cannot read {}: {e}", record_path.display()))?;
    for (index, line) in record.lines().enumerate() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let seed = words.get(1).ok_or("bad damage record")?;
        let hit = &words[3.min(words.len())..];
        let domain = format!("seed-{seed}");
        require(log, &format!("[{domain}] alive")).map_err(|e| format!("seed {seed}: {e}"))?;
        require(
            log,
            &format!("hv: domain {} '{domain}' shut down with code 0", index + 1),
        )
        .map_err(|e| format!("seed {seed}: {e}"))?;
        for file in RANDOM_FILES {
            let data = host_file(file)?;
            let exact = sum_line(&domain, file, &data);
            let prefix = format!("[{domain}] fnv1a ");
            let suffix = format!(" bytes {file}");
            let got = log
                .lines()
                .map(|l| l.trim_end_matches('\r'))
                .find(|l| l.starts_with(&prefix) && l.ends_with(&suffix));
            match got {
                Some(line) if line != exact && !hit.contains(&file) => {
                    return Err(format!(
                        "seed {seed}: {file} read as `{line}`, the host wrote `{exact}`, and the damage did not touch its bytes"
                    ));
                }
                Some(_) => {}
                None => {
                    let error = format!("[{domain}] {file}: ");
                    let no_fs = format!("[{domain}] no filesystem");
                    if !log
                        .lines()
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
