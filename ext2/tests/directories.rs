//! The namespace on images made by `mke2fs`: nested directories, entries
//! added and removed until directories span several blocks, link counts,
//! `rmdir` of empty directories only, errors for each misuse, and files
//! removed and made again in a loop, each state checked by `e2fsck -fn`.

mod common;

use common::{ext2, free_counts, pattern, read_all, sync_check_remount};
use ext2::{Error, Kind};

#[test]
fn directories_nest_and_count_their_links() {
    let Some(mut fs) = ext2(1024, 8) else { return };
    fs.mkdir("/a").unwrap();
    fs.mkdir("/a/b").unwrap();
    fs.mkdir("/a/c").unwrap();
    let file = fs.create("/a/b/file").unwrap();
    fs.write_at(file, 0, b"deep").unwrap();
    let mut fs = sync_check_remount(fs);
    let a = fs.resolve("/a", true).unwrap();
    assert_eq!(fs.metadata(a).unwrap().links, 4);
    assert_eq!(fs.metadata(a).unwrap().kind, Kind::Directory);
    assert_eq!(fs.resolve("/a/b/../c/./../b/file", true).unwrap(), file);
    let names: Vec<_> = fs.list("/a").unwrap().into_iter().map(|e| e.name).collect();
    assert_eq!(names, ["b", "c"]);
    assert_eq!(fs.rmdir("/a/b"), Err(Error::NotEmpty));
    assert_eq!(fs.rmdir("/a/b/file"), Err(Error::NotDirectory));
    assert_eq!(fs.unlink("/a/b"), Err(Error::IsDirectory));
    assert_eq!(fs.mkdir("/a/b"), Err(Error::Exists));
    assert_eq!(fs.create("/a/b/file"), Err(Error::Exists));
    assert_eq!(fs.create("/a/b/file/x"), Err(Error::NotDirectory));
    assert_eq!(fs.create("/nowhere/x"), Err(Error::NotFound));
    assert_eq!(
        fs.create(&format!("/{}", "n".repeat(256))),
        Err(Error::NameTooLong)
    );
    assert!(matches!(fs.rmdir("/"), Err(Error::Invalid(_))));
    fs.unlink("/a/b/file").unwrap();
    fs.rmdir("/a/b").unwrap();
    fs.rmdir("/a/c").unwrap();
    let mut fs = sync_check_remount(fs);
    assert_eq!(fs.metadata(a).unwrap().links, 2);
    fs.rmdir("/a").unwrap();
    assert_eq!(fs.list("/").unwrap().len(), 1, "lost+found is left");
    sync_check_remount(fs);
}

/// Enough entries with long names that the directory takes new blocks;
/// then every other one removed (records merge), and the gaps reused.
#[test]
fn a_directory_grows_past_one_block_and_reuses_gaps() {
    for block_size in [1024u32, 4096] {
        let Some(mut fs) = ext2(block_size, 8) else {
            return;
        };
        fs.mkdir("/many").unwrap();
        let name = |index: usize| format!("/many/{index:03}-{}", "x".repeat(index % 60));
        for index in 0..300 {
            let file = fs.create(&name(index)).unwrap();
            fs.write_at(file, 0, name(index).as_bytes()).unwrap();
        }
        let mut fs = sync_check_remount(fs);
        let many = fs.resolve("/many", true).unwrap();
        assert!(fs.metadata(many).unwrap().size > u64::from(block_size));
        for index in (0..300).step_by(2) {
            fs.unlink(&name(index)).unwrap();
        }
        let mut fs = sync_check_remount(fs);
        assert_eq!(fs.list("/many").unwrap().len(), 150);
        let size = fs.metadata(many).unwrap().size;
        for index in (0..300).step_by(2) {
            fs.create(&name(index)).unwrap();
        }
        assert_eq!(fs.metadata(many).unwrap().size, size, "gaps were reused");
        let mut fs = sync_check_remount(fs);
        let odd = fs.resolve(&name(7), true).unwrap();
        assert_eq!(read_all(&mut fs, odd, 100), name(7).as_bytes());
        for index in 0..300 {
            fs.unlink(&name(index)).unwrap();
        }
        fs.rmdir("/many").unwrap();
        sync_check_remount(fs);
    }
}

/// Removing and making the same files again many times leaks nothing.
#[test]
fn remove_and_recreate_in_a_loop_leaks_nothing() {
    let Some(mut fs) = ext2(2048, 8) else { return };
    fs.sync().unwrap();
    let before = free_counts(&fs);
    for round in 0..40 {
        fs.mkdir("/loop").unwrap();
        for index in 0..5 {
            let file = fs.create(&format!("/loop/f{index}")).unwrap();
            fs.write_at(file, 0, &pattern(1000 * index + round, round as u64))
                .unwrap();
        }
        for index in 0..5 {
            fs.unlink(&format!("/loop/f{index}")).unwrap();
        }
        fs.rmdir("/loop").unwrap();
    }
    let fs = sync_check_remount(fs);
    assert_eq!(free_counts(&fs), before);
}

/// Entries of a mke2fs-populated tree (`-d`) are found and replaced.
#[test]
fn a_populated_tree_is_read_and_changed() {
    let source = common::temp_path("-tree");
    std::fs::create_dir_all(source.join("docs")).unwrap();
    std::fs::write(source.join("hello.txt"), b"hello\n").unwrap();
    std::fs::write(source.join("docs/big.bin"), pattern(300_000, 3)).unwrap();
    std::os::unix::fs::symlink("../hello.txt", source.join("docs/link")).unwrap();
    let image = common::make("ext2", 1024, 8, &["-d", source.to_str().unwrap()]);
    std::fs::remove_dir_all(&source).unwrap();
    let Some(image) = image else { return };
    let mut fs = ext2::Ext2::mount(ext2::MemoryDevice::new(image)).unwrap();
    let big = fs.resolve("/docs/big.bin", true).unwrap();
    assert_eq!(read_all(&mut fs, big, 4000), pattern(300_000, 3));
    let hello = fs.resolve("/docs/link", true).unwrap();
    assert_eq!(read_all(&mut fs, hello, 10), b"hello\n");
    let link = fs.resolve("/docs/link", false).unwrap();
    assert_eq!(fs.metadata(link).unwrap().kind, Kind::Symlink);
    fs.unlink("/docs/link").unwrap();
    fs.truncate(big, 1000).unwrap();
    fs.write_at(hello, 6, b"again\n").unwrap();
    let mut fs = sync_check_remount(fs);
    assert_eq!(read_all(&mut fs, hello, 10), b"hello\nagain\n");
    assert_eq!(fs.resolve("/docs/link", true), Err(Error::NotFound));
}

/// On a full disk, names are made until the directory needs a block it
/// cannot have: the inode taken for the last name is given back.
#[test]
fn a_name_that_finds_no_room_gives_its_inode_back() {
    let Some(mut fs) = ext2(1024, 2) else { return };
    fs.mkdir("/d").unwrap();
    let big = fs.create("/big").unwrap();
    common::fill_file(&mut fs, big);
    let mut made = 0;
    loop {
        match fs.create(&format!("/d/{made:04}-{}", "n".repeat(200))) {
            Ok(_) => made += 1,
            Err(Error::NoSpace) => break,
            Err(error) => panic!("{error}"),
        }
    }
    assert!(made >= 4, "{made} names fit in the directory's block");
    assert_eq!(fs.mkdir("/d/sub"), Err(Error::NoSpace));
    let mut fs = sync_check_remount(fs);
    assert_eq!(fs.list("/d").unwrap().len(), made);
    fs.unlink("/big").unwrap();
    fs.mkdir("/d/sub").unwrap();
    sync_check_remount(fs);
}
