#if canImport(CMalloc) && os(Linux)
import CMalloc
#endif

/// The C allocator's controls and figures, for a long-running process that must give memory back after
/// bursts (glibc; elsewhere each call does nothing and says so).
///
/// glibc keeps freed memory for reuse: each thread that allocates may get its own arena (up to 8 per
/// core), and an arena returns pages to the kernel only from its top, so after a burst the resident size
/// stays at the burst's high-water mark although little is in use. ``limitArenas(_:)`` at start and
/// ``releaseFreeMemory()`` when idle bound that. Any thread; ``releaseFreeMemory()`` walks every arena
/// under its lock, so call it through `Blocking.run`, never on Swift's cooperative pool.
public enum Allocator {
    /// What the allocator holds, from `mallinfo2()`.
    public struct Statistics: Sendable, Hashable {
        /// Bytes the arenas got from the kernel (`arena`, main and thread arenas) plus mmapped blocks (`hblkhd`).
        public var systemBytes: Int
        /// Bytes in allocated chunks (`uordblks` + `hblkhd`): what the program holds.
        public var inUseBytes: Int
        /// Free bytes kept in the arenas (`fordblks`).
        public var freeBytes: Int
    }

    /// Caps the number of malloc arenas (glibc `mallopt(M_ARENA_MAX, n)`). Call first thing in `main`,
    /// before other threads start. `false` when the allocator refused or is not glibc's.
    @discardableResult
    public static func limitArenas(_ count: Int) -> Bool {
        #if canImport(CMalloc) && os(Linux)
        return mallopt(M_ARENA_MAX, Int32(clamping: max(1, count))) == 1
        #else
        return false
        #endif
    }

    /// glibc's largest mmap threshold (`HEAP_MAX_SIZE / 2` on 64-bit): blocks above it are always
    /// mapped on their own.
    public static let largestMmapThreshold = 32 << 20

    /// Keeps freed memory in the arenas for reuse instead of handing it back to the kernel at once
    /// (glibc `mallopt(M_MMAP_THRESHOLD)` and `mallopt(M_TRIM_THRESHOLD)`): blocks up to
    /// `mmapThreshold` bytes come from the arenas rather than from a mapping of their own, and an
    /// arena gives its free top back only above `trimThreshold` bytes.
    ///
    /// For a process that allocates and frees the same large buffers request after request: each one
    /// otherwise costs fresh zeroed pages, one page fault per 4 KiB. Fixing the thresholds also turns
    /// off glibc's own adjustment of them, which makes that cost depend on the order of past
    /// allocations. Pair it with ``releaseFreeMemory()`` when idle, which gives the kept memory back.
    /// Call first thing in `main`. `false` when the allocator refused or is not glibc's.
    @discardableResult
    public static func keepFreedMemory(trimThreshold: Int, mmapThreshold: Int = largestMmapThreshold) -> Bool {
        #if canImport(CMalloc) && os(Linux)
        let mmap = Int32(clamping: min(max(0, mmapThreshold), largestMmapThreshold))
        let trim = Int32(clamping: max(0, trimThreshold))
        return mallopt(M_MMAP_THRESHOLD, mmap) == 1 && mallopt(M_TRIM_THRESHOLD, trim) == 1
        #else
        return false
        #endif
    }

    /// Returns the free memory of every arena to the kernel (glibc `malloc_trim(0)`). Blocking: it takes
    /// each arena's lock in turn. `true` when some memory was released.
    @discardableResult
    public static func releaseFreeMemory() -> Bool {
        #if canImport(CMalloc) && os(Linux)
        return malloc_trim(0) == 1
        #else
        return false
        #endif
    }

    /// The allocator's figures now; `nil` when they are not available.
    public static func statistics() -> Statistics? {
        #if canImport(CMalloc) && os(Linux)
        let info = mallinfo2()
        return Statistics(
            systemBytes: Int(info.arena + info.hblkhd),
            inUseBytes: Int(info.uordblks + info.hblkhd),
            freeBytes: Int(info.fordblks)
        )
        #else
        return nil
        #endif
    }
}
