//! File contents on images made by `mke2fs`: sizes that reach every level
//! of the block map, appends, truncation both ways, sparse files, and
//! reads compared with `debugfs` after `e2fsck -fn` found the image clean.

mod common;

use common::{assert_clean, debugfs_cat, ext2, pattern, read_all, sync_check_remount};

/// Sizes crossing from direct into single, double and triple indirect
/// blocks at each block size.
#[test]
fn files_of_every_block_map_level_read_back() {
    for block_size in [1024u32, 2048, 4096] {
        let Some(mut fs) = ext2(block_size, 16) else {
            return;
        };
        let per = block_size as usize / 4;
        let sizes = [
            0,
            1,
            block_size as usize * 12,
            block_size as usize * 12 + 1,
            block_size as usize * (12 + per) + 5,
            block_size as usize * (12 + per + 3) - 7,
        ];
        let mut files = Vec::new();
        for (index, size) in sizes.iter().enumerate() {
            let path = format!("/file-{index}");
            let number = fs.create(&path).unwrap();
            let data = pattern(*size, index as u64 + 1);
            // Written in uneven pieces, so writes straddle blocks.
            for piece in data.chunks(3001) {
                let at = fs.metadata(number).unwrap().size;
                assert_eq!(fs.write_at(number, at, piece).unwrap(), piece.len());
            }
            files.push((path, number, data));
        }
        let mut fs = sync_check_remount(fs);
        for (path, number, data) in &files {
            assert_eq!(fs.resolve(path, true).unwrap(), *number);
            assert_eq!(
                &read_all(&mut fs, *number, 777),
                data,
                "{path} at {block_size}"
            );
            if let Some(host) = debugfs_cat(&fs.cache().device().bytes, path) {
                assert_eq!(&host, data, "debugfs reads {path} differently");
            }
        }
    }
}

/// A few bytes far out: a sparse file whose block lies under the triple
/// indirect block; holes read as zeros.
#[test]
fn a_sparse_write_reaches_the_triple_indirect_block() {
    let Some(mut fs) = ext2(1024, 8) else { return };
    let number = fs.create("/sparse").unwrap();
    let far = (12 + 256 + 256 * 256 + 10) * 1024 + 100;
    fs.write_at(number, far, b"far out").unwrap();
    fs.write_at(number, 5, b"near").unwrap();
    let mut fs = sync_check_remount(fs);
    assert_eq!(fs.metadata(number).unwrap().size, far + 7);
    let mut buffer = [1u8; 16];
    assert_eq!(fs.read_at(number, far - 9, &mut buffer).unwrap(), 16);
    assert_eq!(&buffer[..9], &[0; 9]);
    assert_eq!(&buffer[9..], b"far out");
    fs.read_at(number, 0, &mut buffer).unwrap();
    assert_eq!(&buffer[..9], b"\0\0\0\0\0near");
    // Data block, 3 indirect blocks (triple, double, single) and the
    // direct block.
    assert_eq!(fs.held_blocks(number).unwrap(), 5);
    fs.truncate(number, 9).unwrap();
    assert_eq!(fs.held_blocks(number).unwrap(), 1);
    sync_check_remount(fs);
}

/// Truncating down frees data and indirect blocks; up again reads zeros;
/// the free counts come back to where they were.
#[test]
fn truncation_frees_blocks_and_grows_with_zeros() {
    for block_size in [1024u32, 4096] {
        let Some(mut fs) = ext2(block_size, 16) else {
            return;
        };
        fs.sync().unwrap();
        let before = common::free_counts(&fs);
        let number = fs.create("/shrinking").unwrap();
        let per = u64::from(block_size / 4);
        let data_blocks = 12 + per + 40;
        let data = pattern((block_size as u64 * data_blocks) as usize + 123, 9);
        fs.write_at(number, 0, &data).unwrap();
        // Data, one single indirect block, a double one and its first.
        assert_eq!(fs.held_blocks(number).unwrap(), data_blocks + 1 + 3);
        for size in [
            block_size as u64 * (12 + per) + 10,
            block_size as u64 * 12 + 1,
            block_size as u64 * 3 - 1,
            17,
        ] {
            fs.truncate(number, size).unwrap();
            assert_eq!(read_all(&mut fs, number, 4096), data[..size as usize]);
            fs = sync_check_remount(fs);
        }
        fs.truncate(number, 5000).unwrap();
        let grown = read_all(&mut fs, number, 4096);
        assert_eq!(&grown[..17], &data[..17]);
        assert!(grown[17..].iter().all(|byte| *byte == 0));
        fs.write_at(number, 4990, b"0123456789abc").unwrap();
        let mut fs = sync_check_remount(fs);
        let mut tail = [0u8; 13];
        fs.read_at(number, 4990, &mut tail).unwrap();
        assert_eq!(&tail, b"0123456789abc");
        fs.truncate(number, 0).unwrap();
        assert_eq!(fs.held_blocks(number).unwrap(), 0);
        fs.unlink("/shrinking").unwrap();
        let fs = sync_check_remount(fs);
        assert_eq!(common::free_counts(&fs), before);
    }
}

/// Writing at an offset inside a file overwrites in place.
#[test]
fn overwrites_in_the_middle_keep_the_rest() {
    let Some(mut fs) = ext2(2048, 8) else { return };
    let number = fs.create("/middle").unwrap();
    let mut data = pattern(10_000, 4);
    fs.write_at(number, 0, &data).unwrap();
    fs.write_at(number, 4000, b"MIDDLE").unwrap();
    data[4000..4006].copy_from_slice(b"MIDDLE");
    let mut fs = sync_check_remount(fs);
    assert_eq!(read_all(&mut fs, number, 1000), data);
}

/// Until space runs out: a short write, then `NoSpace`; the image stays
/// clean, and unlinking gives every block back.
#[test]
fn filling_the_disk_ends_in_no_space_and_stays_clean() {
    let Some(mut fs) = ext2(1024, 4) else { return };
    fs.sync().unwrap();
    let before = common::free_counts(&fs);
    let chunk = pattern(64 * 1024, 5);
    let mut files = 0;
    'fill: loop {
        let path = format!("/fill-{files}");
        let number = match fs.create(&path) {
            Ok(number) => number,
            Err(ext2::Error::NoSpace) => break,
            Err(error) => panic!("{error}"),
        };
        files += 1;
        for _ in 0..4 {
            let at = fs.metadata(number).unwrap().size;
            match fs.write_at(number, at, &chunk) {
                Ok(written) if written == chunk.len() => {}
                Ok(_) | Err(ext2::Error::NoSpace) => break 'fill,
                Err(error) => panic!("{error}"),
            }
        }
    }
    assert!(files > 10);
    let last = fs.resolve(&format!("/fill-{}", files - 1), true).unwrap();
    let at = fs.metadata(last).unwrap().size;
    assert_eq!(fs.write_at(last, at, b"more"), Err(ext2::Error::NoSpace));
    let mut fs = sync_check_remount(fs);
    assert_eq!(common::free_counts(&fs).0, 0);
    for index in 0..files {
        fs.unlink(&format!("/fill-{index}")).unwrap();
    }
    let fs = sync_check_remount(fs);
    assert_eq!(common::free_counts(&fs), before);
}

/// A cache that overflows writes back between operations: the disk holds
/// a clean filesystem even before the sync.
#[test]
fn an_overflowing_cache_leaves_a_clean_disk_before_sync() {
    let Some(mut fs) = ext2(1024, 16) else { return };
    let number = fs.create("/big").unwrap();
    let data = pattern(3 << 20, 6);
    fs.write_at(number, 0, &data).unwrap();
    let (held, _) = fs.cache().held();
    assert!(
        held <= ext2::filesystem::CACHE_BLOCKS + 8,
        "{held} blocks held"
    );
    assert!(fs.cache().device().writes > 0);
    assert_eq!(fs.cache().device().flushes, 0);
    assert_clean(&fs.cache().device().bytes);
    let mut fs = sync_check_remount(fs);
    assert_eq!(read_all(&mut fs, number, 64 * 1024), data);
}

/// What was synced survives losing the cache; what was not is lost
/// whole, and the disk is clean either way.
#[test]
fn unsynced_changes_are_lost_cleanly() {
    let Some(mut fs) = ext2(1024, 8) else { return };
    let kept = fs.create("/kept").unwrap();
    fs.write_at(kept, 0, b"synced").unwrap();
    fs.sync().unwrap();
    let lost = fs.create("/lost").unwrap();
    fs.write_at(lost, 0, b"never synced").unwrap();
    fs.write_at(kept, 6, b" and more").unwrap();
    fs.unlink("/kept").ok();
    let device = fs.into_device();
    assert_clean(&device.bytes);
    let mut fs = ext2::Ext2::mount(device).unwrap();
    assert_eq!(fs.resolve("/lost", true), Err(ext2::Error::NotFound));
    let kept = fs.resolve("/kept", true).unwrap();
    assert_eq!(read_all(&mut fs, kept, 64), b"synced");
}

/// A write that gets its file's first indirect block but no data block
/// after it: a short write, and the indirect block stays counted.
#[test]
fn a_short_write_keeps_the_indirect_block_it_took() {
    let Some(mut fs) = ext2(1024, 2) else { return };
    let small = fs.create("/small").unwrap();
    fs.write_at(small, 0, &pattern(11 * 1024 + 100, 2)).unwrap();
    let big = fs.create("/big").unwrap();
    common::fill_file(&mut fs, big);
    // Give back blocks until exactly one is free.
    fs.sync().unwrap();
    while common::free_counts(&fs).0 < 1 {
        let size = fs.metadata(big).unwrap().size;
        fs.truncate(big, size.saturating_sub(1024)).unwrap();
        fs.sync().unwrap();
    }
    assert_eq!(common::free_counts(&fs).0, 1);
    let written = fs.write_at(small, 11 * 1024 + 100, &[9; 2048]).unwrap();
    assert_eq!(written, 924);
    let mut fs = sync_check_remount(fs);
    assert_eq!(fs.metadata(small).unwrap().size, 12 * 1024);
    assert_eq!(fs.held_blocks(small).unwrap(), 13);
}
