import Foundation

/// Where the package's executables are for the tests that run them as processes.
public enum TestBinaries {
    /// `name` next to the test bundle (`.build/<triple>/debug/`), else in the package's `.build/debug`.
    public static func candidates(_ name: String) -> [URL] {
        [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name),
            Bundle.main.bundleURL.appendingPathComponent(name),
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent(".build/debug/\(name)"),
        ]
    }

    /// The first candidate that is an executable file.
    public static func locate(_ name: String) -> URL? {
        candidates(name).first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }
}
