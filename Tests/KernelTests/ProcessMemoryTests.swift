@testable import Kernel
import XCTest

/// Which mappings of /proc/self/smaps the start-up release drops: file-backed, not writable, holding no page
/// of their own, and resident.
final class ProcessMemoryTests: XCTestCase {
    func testOnlyCleanReadOnlyFileMappingsWithResidentPagesAreDropped() {
        let smaps = """
            55d4c0a00000-55d4c0a21000 r--p 00000000 08:01 123                        /usr/bin/redlabd
            Size:                132 kB
            Rss:                 120 kB
            Anonymous:             0 kB
            Private_Dirty:         0 kB
            VmFlags: rd mr mw me sd
            55d4c0a21000-55d4c0b00000 r-xp 00021000 08:01 123                        /usr/bin/redlabd
            Rss:                 800 kB
            Private_Dirty:         0 kB
            7f0000000000-7f0000010000 r--p 00000000 08:01 55                         /usr/lib/libc.so.6
            Rss:                  64 kB
            Anonymous:             8 kB
            7f0000020000-7f0000030000 rw-p 00000000 08:01 55                         /usr/lib/libc.so.6
            Rss:                  16 kB
            7f0000040000-7f0000050000 r--p 00000000 00:00 0 
            Rss:                   4 kB
            7f0000060000-7f0000070000 r-xp 00000000 08:01 77                         /usr/lib/x.so
            Rss:                   0 kB
            7f0000080000-7f0000090000 r--p 00000000 08:01 78                         /usr/lib/dirty.so
            Rss:                  12 kB
            Private_Dirty:         4 kB
            7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
            Rss:                  12 kB

            """
        XCTAssertEqual(ProcessMemory.droppableMappings(smaps: Array(smaps.utf8)), [
            .init(start: 0x55d4c0a00000, end: 0x55d4c0a21000, residentKilobytes: 120),
            .init(start: 0x55d4c0a21000, end: 0x55d4c0b00000, residentKilobytes: 800),
        ])
    }

    func testTruncatedAndMalformedTextDropsNothingItCannotRead() {
        XCTAssertEqual(ProcessMemory.droppableMappings(smaps: []), [])
        XCTAssertEqual(ProcessMemory.droppableMappings(smaps: Array("zz-55 r--p 0 0:0 1 /x\nRss: 4 kB\n".utf8)), [])
        XCTAssertEqual(ProcessMemory.droppableMappings(smaps: Array("Rss: 4 kB\n1000-2000 r--p 0 0:0 1 /x\nRss: ".utf8)), [],
                       "a key before any mapping is ignored; a value cut off reads as none")
        XCTAssertEqual(ProcessMemory.droppableMappings(smaps: Array("1000-2000 r--p 0 0:0 1 /x\nRss: 4 kB".utf8)),
                       [.init(start: 0x1000, end: 0x2000, residentKilobytes: 4)], "the last line needs no newline")
    }

    /// On this process, from its own smaps: some mapping is droppable (the test bundle's code is resident).
    func testThisProcessHasDroppableMappings() throws {
        let bytes = try Files.read("/proc/self/smaps", limit: 4 << 20)
        XCTAssertFalse(ProcessMemory.droppableMappings(smaps: bytes).isEmpty)
    }
}

/// When `down` may stop waiting for a killed daemon: once it can make no system call any more.
final class ProcessExitTests: XCTestCase {
    func testTheFlagsFieldIsReadAfterTheCommandsLastParenthesis() {
        let line = "1234 (a (b) c) R 1 1234 1234 0 -1 4194308 120 0 0 0 3 1 0 0 20 0 1 0 100 1000 200"
        XCTAssertEqual(ProcessTable.flags(stat: Array(line.utf8)), 4_194_308)
        XCTAssertEqual(ProcessTable.flags(stat: Array(line.utf8)).map { $0 & ProcessTable.exitingFlag }, 4, "PF_EXITING set")
        XCTAssertNil(ProcessTable.flags(stat: Array("1234 (x) R 1 2".utf8)), "cut short")
        XCTAssertNil(ProcessTable.flags(stat: Array("no parenthesis".utf8)))
    }

    func testARunningProcessHasNotStoppedAndAGoneOneHas() {
        XCTAssertFalse(ProcessTable.hasStoppedForGood(getpid()), "this process runs")
        XCTAssertTrue(ProcessTable.hasStoppedForGood(Int32.max), "no such process")
    }
}
