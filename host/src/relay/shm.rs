//! Segment bodies in the page cache, so the edge sends them without copying: a finished shared
//! fetch that is asked for again (a hot segment) is written once into a file ([`ShmWriter`]),
//! mapped into memory; viewers get [`Bytes`] that are slices of the mapping, and when the
//! connection writes such a slice [`send_mapped`] hands the socket the file's pages with
//! `sendfile(2)` instead of copying the bytes into the kernel. A body read once stays on the
//! heap: writing it into a fresh file would cost more than the one copy it saves.
//!
//! The file is an unnamed one (`O_TMPFILE`) in the cache directory when that directory is on a
//! local disk filesystem (ext4, XFS, btrfs), else a memfd ([`keep_in`]). Disk filesystems keep
//! a file in large folios, which `sendfile` walks a whole folio at a time; a memfd (tmpfs) uses
//! 4 KiB pages unless the machine enables shmem huge pages, and walking those page by page made
//! `sendfile` of a 1 MiB segment about 15 % slower. Nothing is meant to reach the disk: the
//! files have no name, and they are gone when their last viewer is (usually before the kernel's
//! 30 s write-back of dirty pages).
//!
//! Every live mapping is registered by address range, so a write can tell a mapped slice from
//! any other buffer by its pointer alone ([`locate`]). A mapping is unregistered before it is
//! unmapped, and it lives as long as any slice of it (each slice holds an `Arc` of it), so a
//! pointer into a registered range is always backed by that mapping's file. A mapping is written
//! once, front to back, and never changed after a slice of a region was handed out, so the pages
//! the kernel still references after a send hold the same bytes.
//!
//! Linux only, and optional: where no file can be made (another OS, a seccomp filter, the
//! mapping limit reached) callers keep the heap chunks they had.

use std::{
    collections::BTreeMap,
    sync::{
        Arc, LazyLock, RwLock,
        atomic::{AtomicUsize, Ordering},
    },
};

use bytes::Bytes;
use prometheus_client::metrics::counter::Counter;

/// Bodies smaller than this stay on the heap: a file descriptor and a mapping are not worth it.
pub const MIN_MAPPED: usize = 64 * 1024;
/// Most mappings alive at once (each holds a file descriptor).
const MAX_MAPPINGS: usize = 1024;

static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Bytes the edge sent from mapped files without copying (`pitwall_relay_zero_copy_bytes`).
static SENT: LazyLock<Counter> = LazyLock::new(Counter::default);

/// Where segment files are made: a directory on a local disk filesystem, or none (memfds).
static DIR: RwLock<Option<Arc<sys::OwnedFd>>> = RwLock::new(None);

/// Makes segment files unnamed files in `dir` from now on when it is on a local disk
/// filesystem, else memfds; says which, for the log.
pub fn keep_in(dir: &std::path::Path) -> String {
    let (fd, said) = match sys::disk_dir(dir) {
        Ok((fd, fs)) => (Some(Arc::new(fd)), format!("unnamed files in {} ({fs})", dir.display())),
        Err(why) => (None, format!("memory files (memfd): {}: {why}", dir.display())),
    };
    *DIR.write().unwrap_or_else(|p| p.into_inner()) = fd;
    said
}

/// Live mappings by start address: `(length, raw fd)`.
static REGIONS: RwLock<BTreeMap<usize, (usize, i32)>> = RwLock::new(BTreeMap::new());

#[cfg(target_os = "linux")]
mod sys {
    pub use std::os::fd::OwnedFd;
    use std::{os::fd::AsRawFd, ptr::NonNull};

    use rustix::{
        fs::{Mode, OFlags, fstatfs, ftruncate, memfd_create, openat},
        mm::{MapFlags, ProtFlags, mmap, munmap},
    };

    /// Filesystems whose files `sendfile` walks in large folios, by `statfs` magic number.
    const DISK_FILESYSTEMS: [(i64, &str); 3] =
        [(0xEF53, "ext4"), (0x5846_5342, "xfs"), (0x9123_683E, "btrfs")];

    /// Opens `dir` as the home of segment files when it is on a local disk filesystem and
    /// takes unnamed files; names the filesystem.
    pub fn disk_dir(dir: &std::path::Path) -> Result<(OwnedFd, &'static str), String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let fd = rustix::fs::open(dir, OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| e.to_string())?;
        let magic = fstatfs(&fd).map_err(|e| e.to_string())?.f_type as i64;
        let Some((_, name)) = DISK_FILESYSTEMS.iter().find(|(m, _)| *m == magic) else {
            return Err(format!("not a local disk filesystem (statfs type {magic:#x})"));
        };
        drop(unnamed_file(&fd).map_err(|e| format!("{name} refused an unnamed file: {e}"))?);
        Ok((fd, name))
    }

    fn unnamed_file(dir: &OwnedFd) -> rustix::io::Result<OwnedFd> {
        openat(dir, ".", OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC, Mode::RUSR | Mode::WUSR)
    }

    /// One file of a fixed length (unnamed in `dir`, else a memfd), mapped shared and read-only.
    pub struct Mapping {
        pub fd: OwnedFd,
        pub ptr: NonNull<u8>,
        pub len: usize,
    }

    // SAFETY: the mapping is plain memory owned by this value; writers and readers touch
    // disjoint ranges (see `ShmWriter`).
    unsafe impl Send for Mapping {}
    // SAFETY: as above.
    unsafe impl Sync for Mapping {}

    impl Mapping {
        pub fn new(len: usize, dir: Option<&OwnedFd>) -> Option<Mapping> {
            let fd = match dir.map(unnamed_file) {
                Some(Ok(fd)) => fd,
                _ => memfd_create("pitwall-segment", rustix::fs::MemfdFlags::CLOEXEC).ok()?,
            };
            ftruncate(&fd, len as u64).ok()?;
            // SAFETY: a fresh shared mapping of a file we own, of its exact length.
            let ptr =
                unsafe { mmap(std::ptr::null_mut(), len, ProtFlags::READ, MapFlags::SHARED, &fd, 0) }.ok()?;
            let ptr = NonNull::new(ptr.cast::<u8>())?;
            Some(Mapping { fd, ptr, len })
        }

        pub fn raw_fd(&self) -> i32 {
            self.fd.as_raw_fd()
        }

        /// Writes `data` into the file at `offset` with `pwrite(2)`, not through the mapping:
        /// the kernel fills the file's pages directly, without a page fault per 4 KiB page, and
        /// the mapping's pages are only touched if something reads the slice in memory (the
        /// edge sends it with `sendfile` instead).
        pub fn write_at(&self, mut data: &[u8], mut offset: u64) -> std::io::Result<()> {
            while !data.is_empty() {
                let n = rustix::io::pwrite(&self.fd, data, offset)?;
                data = &data[n..];
                offset += n as u64;
            }
            Ok(())
        }
    }

    impl Drop for Mapping {
        fn drop(&mut self) {
            // SAFETY: unmapping exactly what `new` mapped; no slice of it is alive (each holds
            // an `Arc` of the mapping).
            let _ = unsafe { munmap(self.ptr.as_ptr().cast(), self.len) };
        }
    }

    /// `sendfile(2)` from `fd` at `offset` to `socket`.
    pub fn sendfile(socket: i32, fd: i32, offset: usize, len: usize) -> std::io::Result<usize> {
        use std::os::fd::BorrowedFd;
        // SAFETY: both descriptors are open for the duration of the call: the socket belongs to
        // the caller's stream, and `fd` to a mapping a live slice keeps alive.
        let (socket, fd) = unsafe { (BorrowedFd::borrow_raw(socket), BorrowedFd::borrow_raw(fd)) };
        let mut offset = offset as u64;
        Ok(rustix::fs::sendfile(socket, fd, Some(&mut offset), len)?)
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    use std::ptr::NonNull;

    pub type OwnedFd = std::convert::Infallible;

    pub fn disk_dir(_dir: &std::path::Path) -> Result<(OwnedFd, &'static str), String> {
        Err("not Linux".into())
    }

    pub struct Mapping {
        pub ptr: NonNull<u8>,
        pub len: usize,
    }

    impl Mapping {
        pub fn new(_len: usize, _dir: Option<&OwnedFd>) -> Option<Mapping> {
            None
        }

        pub fn raw_fd(&self) -> i32 {
            -1
        }

        pub fn write_at(&self, _data: &[u8], _offset: u64) -> std::io::Result<()> {
            Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
        }
    }

    pub fn sendfile(_socket: i32, _fd: i32, _offset: usize, _len: usize) -> std::io::Result<usize> {
        Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
    }
}

/// A registered mapping; unregistered (then unmapped) when the last slice of it goes.
struct Registered(sys::Mapping);

impl Drop for Registered {
    fn drop(&mut self) {
        REGIONS.write().unwrap_or_else(|p| p.into_inner()).remove(&(self.0.ptr.as_ptr() as usize));
        LIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A written region of a mapping, the owner behind a [`Bytes`] slice.
struct Region {
    map: Arc<Registered>,
    offset: usize,
    len: usize,
}

impl AsRef<[u8]> for Region {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `offset..offset + len` lies inside the mapping (checked when the region was
        // written) and is never written again; the mapping lives as long as `self.map`.
        unsafe { std::slice::from_raw_parts(self.map.0.ptr.as_ptr().add(self.offset), self.len) }
    }
}

/// Writes one body front to back into a fresh mapping and hands out each written part as
/// [`Bytes`] backed by it.
pub struct ShmWriter {
    map: Arc<Registered>,
    filled: usize,
}

impl ShmWriter {
    /// A mapping for a body of `len` bytes; `None` when it is too small to be worth one or
    /// no mapping can be made.
    pub fn new(len: usize) -> Option<ShmWriter> {
        if len < MIN_MAPPED {
            return None;
        }
        if LIVE.fetch_add(1, Ordering::Relaxed) >= MAX_MAPPINGS {
            LIVE.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        let dir = DIR.read().unwrap_or_else(|p| p.into_inner()).clone();
        let Some(mapping) = sys::Mapping::new(len, dir.as_deref()) else {
            LIVE.fetch_sub(1, Ordering::Relaxed);
            return None;
        };
        let start = mapping.ptr.as_ptr() as usize;
        REGIONS.write().unwrap_or_else(|p| p.into_inner()).insert(start, (len, mapping.raw_fd()));
        Some(ShmWriter { map: Arc::new(Registered(mapping)), filled: 0 })
    }

    /// Copies `data` after what was written so far and returns it as a slice of the mapping;
    /// `None` when it does not fit or cannot be written.
    pub fn append(&mut self, data: &[u8]) -> Option<Bytes> {
        let end = self.filled.checked_add(data.len()).filter(|end| *end <= self.map.0.len)?;
        // `filled..end` is inside the file and no slice of it was handed out yet, so nothing
        // reads it while it is written.
        self.map.0.write_at(data, self.filled as u64).ok()?;
        let region = Region { map: self.map.clone(), offset: self.filled, len: data.len() };
        self.filled = end;
        Some(Bytes::from_owner(region))
    }

    /// `chunks` written one after the other into a fresh mapping, as one slice of it.
    pub fn whole(chunks: &[Bytes]) -> Option<Bytes> {
        let mut writer = ShmWriter::new(chunks.iter().map(Bytes::len).sum())?;
        for chunk in chunks {
            writer.append(chunk)?;
        }
        Some(writer.written())
    }

    /// Everything written so far as one slice.
    pub fn written(&self) -> Bytes {
        Bytes::from_owner(Region { map: self.map.clone(), offset: 0, len: self.filled })
    }
}

/// Where `buf` lives if it lies inside a live mapping: `(fd, offset)`.
pub fn locate(buf: &[u8]) -> Option<(i32, usize)> {
    if LIVE.load(Ordering::Relaxed) == 0 || buf.is_empty() {
        return None;
    }
    let addr = buf.as_ptr() as usize;
    let regions = REGIONS.read().unwrap_or_else(|p| p.into_inner());
    let (&start, &(len, fd)) = regions.range(..=addr).next_back()?;
    (addr + buf.len() <= start + len).then_some((fd, addr - start))
}

/// Sends a mapped slice located by [`locate`] on `socket` without copying: `sendfile(2)`.
pub fn send_mapped(socket: i32, (fd, offset): (i32, usize), len: usize) -> std::io::Result<usize> {
    let sent = sys::sendfile(socket, fd, offset, len)?;
    SENT.inc_by(sent as u64);
    Ok(sent)
}

/// The counter of bytes sent without copying, for `/metrics`.
pub fn sent() -> Counter {
    SENT.clone()
}

/// Mappings alive right now.
#[cfg(test)]
fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn written_parts_are_slices_of_one_mapping_that_locate_finds() {
        let before = live();
        let mut writer = ShmWriter::new(MIN_MAPPED * 2).expect("a memfd mapping");
        let a = writer.append(&[1u8; 1000]).unwrap();
        let b = writer.append(&[2u8; 500]).unwrap();
        assert_eq!(&a[..], &[1u8; 1000][..]);
        assert_eq!(&b[..], &[2u8; 500][..]);
        let (fd, offset) = locate(&b).expect("a mapped slice");
        assert_eq!(offset, 1000);
        assert!(fd >= 0);
        assert_eq!(locate(&b[10..20]).map(|(_, o)| o), Some(1010));
        assert_eq!(locate(&[0u8; 100]), None, "other memory is not mapped");
        let whole = writer.written();
        assert_eq!(whole.len(), 1500);
        assert!(writer.append(&vec![0u8; MIN_MAPPED * 2]).is_none(), "past the length");
        drop((writer, a, b));
        assert_eq!(live(), before + 1, "the last slice keeps the mapping");
        drop(whole);
        assert_eq!(live(), before);
    }

    #[test]
    fn segment_files_are_unnamed_files_on_a_disk_filesystem_and_memfds_elsewhere() {
        // The test binary's directory is on the build machine's disk (ext4 here and in CI).
        let dir = tempfile::tempdir_in(std::env::current_exe().unwrap().parent().unwrap()).unwrap();
        let (fd, fs) = sys::disk_dir(dir.path()).expect("the build directory is on a disk filesystem");
        assert!(["ext4", "xfs", "btrfs"].contains(&fs));
        let mapping = sys::Mapping::new(MIN_MAPPED, Some(&fd)).unwrap();
        mapping.write_at(&[7u8; 100], 10).unwrap();
        // SAFETY: reading the first bytes of a live mapping of MIN_MAPPED bytes.
        let head = unsafe { std::slice::from_raw_parts(mapping.ptr.as_ptr(), 110) };
        assert_eq!((&head[..10], &head[10..]), (&[0u8; 10][..], &[7u8; 100][..]));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "the file has no name");
        let shm = std::path::Path::new("/dev/shm");
        if shm.is_dir() {
            let why = sys::disk_dir(shm).expect_err("tmpfs is memory, not disk");
            assert!(why.contains("not a local disk filesystem"), "{why}");
        }
    }

    #[test]
    fn small_bodies_stay_on_the_heap() {
        assert!(ShmWriter::new(MIN_MAPPED - 1).is_none());
    }

    #[test]
    fn sendfile_sends_the_mapped_bytes() {
        use std::{io::Read, os::fd::AsRawFd};
        let mut writer = ShmWriter::new(MIN_MAPPED).unwrap();
        let data: Vec<u8> = (0..MIN_MAPPED).map(|i| (i % 251) as u8).collect();
        let part = writer.append(&data).unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let sender = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut receiver, _) = listener.accept().unwrap();
        let located = locate(&part[100..]).unwrap();
        // 64 KiB fit the loopback socket buffers: send it all, then read it all on one thread.
        let mut sent = 0;
        while sent < part.len() - 100 {
            sent += send_mapped(sender.as_raw_fd(), (located.0, located.1 + sent), part.len() - 100 - sent)
                .unwrap();
        }
        drop(sender);
        let mut got = Vec::new();
        receiver.read_to_end(&mut got).unwrap();
        assert_eq!(got, data[100..]);
    }
}
