//! The scenarios of the writable filesystem: a shell script writes,
//! appends, truncates, makes and removes files and directories, syncs and
//! changes more without syncing, and QEMU is killed (SIGKILL); a second
//! boot on the same disk must see every synced change and none of the
//! others. Besides: a disk filled until `no space` with the shell still
//! serving, and files removed and made again in a loop. After each boot
//! `e2fsck -fn` must find every domain's region clean, and each domain's
//! region is its own (a bystander's filesystem stays as it was).

use std::path::Path;
use std::process::Command;

use shared_abi::exit::HvExit;

use crate::disk_image::REGION_BYTES;
use crate::log_checks::fnv1a;
use crate::scenario::Scenario;

/// Bytes `fill` appends per step (the guest's `shell_files::CHUNK`): its
/// pattern starts again at each step.
const FILL_STEP: usize = 16 * 1024;

/// What `fill` writes: `0123456789` repeated, a newline every 64 bytes,
/// restarting every [`FILL_STEP`] bytes.
fn fill_pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|offset| {
            let index = offset % FILL_STEP;
            if index % 64 == 63 {
                b'\n'
            } else {
                b'0' + (index % 10) as u8
            }
        })
        .collect()
}

/// Ctrl-A N moves the console focus to domain N; then `script` is typed.
fn focus(domain: usize, script: &str) -> Vec<u8> {
    let mut input = vec![0x01, b'0' + domain as u8];
    input.extend_from_slice(script.as_bytes());
    input
}

const CHANGES: &str = "write /notes.txt first line\n\
                       append /notes.txt second line\n\
                       mkdir /dir\n\
                       mkdir /dir/sub\n\
                       write /dir/sub/deep.txt deep file\n\
                       write /gone.txt to be removed\n\
                       rm /gone.txt\n\
                       mkdir /empty\n\
                       rmdir /empty\n\
                       fill /dir/big.bin 300000\n\
                       truncate /dir/big.bin 70000\n\
                       write /hello.txt replaced hello\n\
                       truncate /docs/numbers.txt 10\n\
                       sync\n\
                       write /unsynced.txt lost\n\
                       append /notes.txt lost line\n\
                       rm /dir/sub/deep.txt\n\
                       echo unsynced writes done\n";

const READ_BACK: &str = "cat /notes.txt\nls /\nls /dir\nls /dir/sub\ncat /dir/sub/deep.txt\n\
                         sum /dir/big.bin\ncat /hello.txt\nsum /docs/numbers.txt\n\
                         cat /unsynced.txt\ncat /gone.txt\nls /empty\n";

/// The file-writing scenarios, in the order they run.
pub fn all() -> Vec<Scenario> {
    let killed = Scenario::new("fs-write-survives-kill", HvExit::Success)
        .guest("alpha", "guest-kernel", "")
        .guest("beta", "guest-kernel", "")
        .ext2_disk()
        .input(&focus(1, CHANGES))
        .kill_on("] unsynced writes done")
        .exact("[alpha] synced")
        .forbid("panic")
        .forbid("[alpha] /");
    let mut killed = killed;
    killed.after = Some(regions_are_clean);

    let mut input = focus(1, READ_BACK);
    input.extend(focus(2, "ls /\ncat /hello.txt\n"));
    let mut read_back = Scenario::new("fs-write-read-back", HvExit::Success)
        .guest("alpha", "guest-kernel", "")
        .guest("beta", "guest-kernel", "")
        .reuse_disk("fs-write-survives-kill")
        .input(&input)
        .check(synced_files_read_back)
        .forbid("lost line")
        .forbid("[beta] notes.txt")
        .forbid("panic");
    for line in [
        "[alpha] first line",
        "[alpha] second line",
        "[alpha] notes.txt",
        "[alpha] dir/",
        "[alpha] big.bin",
        "[alpha] sub/",
        "[alpha] deep.txt",
        "[alpha] deep file",
        "[alpha] replaced hello",
        "[alpha] /unsynced.txt: file not found",
        "[alpha] /gone.txt: file not found",
        "[alpha] /empty: file not found",
        "[beta] Hello from the guest's disk!",
        "hv: domain 1 'alpha' shut down with code 0",
        "hv: domain 2 'beta' shut down with code 0",
    ] {
        read_back = read_back.exact(line);
    }
    read_back.after = Some(regions_are_clean);

    let mut input = focus(
        1,
        "write /small.txt before\nfill /big.bin 8000000\necho still serving\n\
         write /small.txt after the disk filled\ncat /small.txt\nrm /big.bin\n\
         write /after.txt written after freeing\ncat /after.txt\nsync\n",
    );
    input.extend(focus(2, "ls /\ncat /hello.txt\n"));
    let mut full = Scenario::new("fs-fill-no-space", HvExit::Success)
        .guest("filler", "guest-kernel", "")
        .guest("reader", "guest-kernel", "")
        .ext2_disk()
        .input(&input)
        .exact("[filler] /big.bin: no space left on the filesystem")
        .exact("[filler] still serving")
        .exact("[filler] after the disk filled")
        .exact("[filler] written after freeing")
        .exact("[filler] synced")
        .exact("[reader] Hello from the guest's disk!")
        .exact("hv: domain 1 'filler' shut down with code 0")
        .exact("hv: domain 2 'reader' shut down with code 0")
        .forbid("[reader] big.bin")
        .forbid("panic")
        .timeout(std::time::Duration::from_secs(90));
    full.after = Some(regions_are_clean);

    let mut script = String::new();
    for round in 0..20 {
        script.push_str(&format!(
            "mkdir /loop\nwrite /loop/a.txt round {round}\nfill /loop/b.bin 30000\n\
             append /loop/a.txt more\nrm /loop/a.txt\nrm /loop/b.bin\nrmdir /loop\n"
        ));
    }
    script.push_str("write /final.txt done looping\ncat /final.txt\nls /\nsync\n");
    let mut looped = Scenario::new("fs-remove-recreate-loop", HvExit::Success)
        .guest("looper", "guest-kernel", "")
        .ext2_disk()
        .input(&script.into_bytes())
        .exact("[looper] done looping")
        .exact("[looper] synced")
        .exact("hv: domain 1 'looper' shut down with code 0")
        .forbid("[looper] loop/")
        .forbid("[looper] /")
        .forbid("panic")
        .timeout(std::time::Duration::from_secs(90));
    looped.after = Some(regions_are_clean);
    vec![killed, read_back, full, looped]
}

/// `sum` of the truncated big file and of the truncated numbers file give
/// the host's checksums of what was synced.
fn synced_files_read_back(log: &str) -> Result<(), String> {
    let numbers = crate::paths::workspace_root().join("guest-kernel/disk/docs/numbers.txt");
    let numbers = std::fs::read(&numbers).map_err(|e| format!("{}: {e}", numbers.display()))?;
    for (path, data) in [
        ("/dir/big.bin", fill_pattern(70_000)),
        ("/docs/numbers.txt", numbers[..10].to_vec()),
    ] {
        let line = format!(
            "[alpha] fnv1a {:016x} {} bytes {path}",
            fnv1a(&data),
            data.len()
        );
        if !log.lines().any(|l| l.trim_end_matches('\r') == line) {
            return Err(format!("missing the line `{line}`"));
        }
    }
    Ok(())
}

/// `e2fsck -fn` on each domain's region of the scenario's disk.
fn regions_are_clean(scenario: &Scenario) -> Result<String, String> {
    let image = scenario.disk_path();
    let bytes = std::fs::read(&image).map_err(|e| format!("{}: {e}", image.display()))?;
    let regions = bytes.len() / REGION_BYTES as usize;
    for (index, region) in bytes.chunks(REGION_BYTES as usize).enumerate() {
        let path = image.with_extension(format!("region{index}.img"));
        std::fs::write(&path, region).map_err(|e| format!("{}: {e}", path.display()))?;
        let checked = e2fsck(&path);
        let _ = std::fs::remove_file(&path);
        checked.map_err(|report| format!("region {index}: {report}"))?;
    }
    Ok(format!("e2fsck -fn found {regions} regions clean"))
}

/// Runs `e2fsck -fn` on `image`; its report unless clean.
fn e2fsck(image: &Path) -> Result<(), String> {
    let output = Command::new(crate::paths::e2fsprogs("e2fsck"))
        .arg("-fn")
        .arg(image)
        .output()
        .map_err(|_| "e2fsck not found: install e2fsprogs".to_string())?;
    match output.status.success() {
        true => Ok(()),
        false => Err(format!(
            "e2fsck -fn: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fill_pattern_restarts_every_step() {
        let data = fill_pattern(FILL_STEP + 3);
        assert_eq!(&data[..3], b"012");
        assert_eq!(data[63], b'\n');
        assert_eq!(&data[FILL_STEP..], b"012");
    }
}
