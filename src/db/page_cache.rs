//! SQLite's own page cache behind a thin wrapper that skips one needless walk per commit.
//!
//! While a b-tree rebalance reorders its new pages, SQLite parks a page for a moment under
//! the number of the lock-byte page (1 GiB into the file: `balance_nonroot`'s `pgnoTemp`).
//! The default cache then remembers that number as its largest key, and the next COMMIT,
//! which drops every cached page past the end of the file, finds the file shorter than
//! that key and walks its whole hash table (`pcache1TruncateUnsafe`). Below 1 GiB that is
//! every commit that split a page: under the fan-out bench about 190 µs a commit and 4% of
//! the writer's time, and a lone event's commit pays it in full.
//!
//! The wrapper forwards every call and keeps its own largest key, leaving out that parked
//! number (the rebalance always moves the page on at once). A truncate past that key has
//! nothing to drop and is not forwarded. Pages enter the cache only through `xFetch` and
//! move only through `xRekey`, both seen here, so the key kept is never below a cached
//! page's: what is skipped is exactly what the walk would have found nothing in.

use std::ffi::{c_int, c_uint};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use rusqlite::ffi;

/// Where SQLite's lock bytes start (its compile-time `PENDING_BYTE`).
const PENDING_BYTE: u32 = 0x4000_0000;

/// One cache: SQLite's, and the largest key any of its pages can have.
struct Wrapped {
    inner: *mut ffi::sqlite3_pcache,
    /// The lock-byte page's number at this cache's page size: the rebalance's parking key.
    parking: c_uint,
    max_key: c_uint,
}

/// Truncates not forwarded because no cached page could be past the limit.
static SKIPPED: AtomicU64 = AtomicU64::new(0);

/// How many truncates the wrapper has found nothing to do for, process-wide.
pub fn truncates_skipped() -> u64 {
    SKIPPED.load(Ordering::Relaxed)
}

/// SQLite's default methods, read once before they are replaced.
static DEFAULT: OnceLock<Methods> = OnceLock::new();

struct Methods(ffi::sqlite3_pcache_methods2);

// The struct is a table of C function pointers and an argument SQLite owns; it is only
// read after it is set.
unsafe impl Send for Methods {}
unsafe impl Sync for Methods {}

fn default() -> &'static ffi::sqlite3_pcache_methods2 {
    match DEFAULT.get() {
        Some(m) => &m.0,
        // The wrapper's methods are installed only after DEFAULT is set.
        None => unreachable!("page cache wrapper used before it was installed"),
    }
}

/// Installs the wrapper. Call it first thing in `main`, on one thread: SQLite's
/// configuration is not thread-safe, and SQLite refuses a new page cache once it has
/// initialized (then nothing changes and this answers false). Later calls return the first
/// call's answer.
pub fn install() -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(|| {
        // SAFETY: GETPCACHE2 writes the current methods into the struct we pass; both
        // calls fail without effect (SQLITE_MISUSE) once SQLite has initialized.
        unsafe {
            let mut methods: ffi::sqlite3_pcache_methods2 = std::mem::zeroed();
            let got = ffi::sqlite3_config(
                ffi::SQLITE_CONFIG_GETPCACHE2,
                &mut methods as *mut ffi::sqlite3_pcache_methods2,
            );
            if got != ffi::SQLITE_OK || DEFAULT.set(Methods(methods)).is_err() {
                return false;
            }
            let wrapper = ffi::sqlite3_pcache_methods2 {
                iVersion: methods.iVersion,
                pArg: methods.pArg,
                xInit: methods.xInit,
                xShutdown: methods.xShutdown,
                xCreate: Some(create),
                xCachesize: Some(cachesize),
                xPagecount: Some(pagecount),
                xFetch: Some(fetch),
                xUnpin: Some(unpin),
                xRekey: Some(rekey),
                xTruncate: Some(truncate),
                xDestroy: Some(destroy),
                xShrink: Some(shrink),
            };
            // SQLite copies the struct.
            ffi::sqlite3_config(
                ffi::SQLITE_CONFIG_PCACHE2,
                &wrapper as *const ffi::sqlite3_pcache_methods2,
            ) == ffi::SQLITE_OK
        }
    })
}

/// # Safety
/// `p` is a cache `create` returned and SQLite has not destroyed.
unsafe fn wrapped<'a>(p: *mut ffi::sqlite3_pcache) -> &'a mut Wrapped {
    &mut *(p as *mut Wrapped)
}

unsafe extern "C" fn create(
    page: c_int,
    extra: c_int,
    purgeable: c_int,
) -> *mut ffi::sqlite3_pcache {
    let Some(inner_create) = default().xCreate else {
        return std::ptr::null_mut();
    };
    let inner = inner_create(page, extra, purgeable);
    if inner.is_null() {
        return inner;
    }
    let parking = PENDING_BYTE / c_uint::try_from(page.max(1)).unwrap_or(1) + 1;
    let cache = Box::new(Wrapped {
        inner,
        parking,
        max_key: 0,
    });
    Box::into_raw(cache) as *mut ffi::sqlite3_pcache
}

unsafe extern "C" fn cachesize(p: *mut ffi::sqlite3_pcache, n: c_int) {
    if let Some(f) = default().xCachesize {
        f(wrapped(p).inner, n);
    }
}

unsafe extern "C" fn pagecount(p: *mut ffi::sqlite3_pcache) -> c_int {
    default().xPagecount.map_or(0, |f| f(wrapped(p).inner))
}

unsafe extern "C" fn fetch(
    p: *mut ffi::sqlite3_pcache,
    key: c_uint,
    create: c_int,
) -> *mut ffi::sqlite3_pcache_page {
    let cache = wrapped(p);
    let Some(f) = default().xFetch else {
        return std::ptr::null_mut();
    };
    let page = f(cache.inner, key, create);
    if !page.is_null() {
        cache.max_key = cache.max_key.max(key);
    }
    page
}

unsafe extern "C" fn unpin(
    p: *mut ffi::sqlite3_pcache,
    page: *mut ffi::sqlite3_pcache_page,
    discard: c_int,
) {
    if let Some(f) = default().xUnpin {
        f(wrapped(p).inner, page, discard);
    }
}

unsafe extern "C" fn rekey(
    p: *mut ffi::sqlite3_pcache,
    page: *mut ffi::sqlite3_pcache_page,
    old: c_uint,
    new: c_uint,
) {
    let cache = wrapped(p);
    if let Some(f) = default().xRekey {
        f(cache.inner, page, old, new);
    }
    if new != cache.parking {
        cache.max_key = cache.max_key.max(new);
    }
}

unsafe extern "C" fn truncate(p: *mut ffi::sqlite3_pcache, limit: c_uint) {
    let cache = wrapped(p);
    if limit > cache.max_key {
        SKIPPED.fetch_add(1, Ordering::Relaxed);
        return;
    }
    if let Some(f) = default().xTruncate {
        f(cache.inner, limit);
    }
    cache.max_key = limit.saturating_sub(1);
}

unsafe extern "C" fn destroy(p: *mut ffi::sqlite3_pcache) {
    let cache = Box::from_raw(p as *mut Wrapped);
    if let Some(f) = default().xDestroy {
        f(cache.inner);
    }
}

unsafe extern "C" fn shrink(p: *mut ffi::sqlite3_pcache) {
    if let Some(f) = default().xShrink {
        f(wrapped(p).inner);
    }
}
