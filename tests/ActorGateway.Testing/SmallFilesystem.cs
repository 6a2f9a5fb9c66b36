namespace ActorGateway.Testing;

/// <summary>
/// A tmpfs of a fixed size mounted for one test, so that the test can fill it up (a full disk
/// under the node's data directory) and free it again. Mounting needs root (or CAP_SYS_ADMIN):
/// <see cref="CanMount"/> says whether this machine allows it.
/// </summary>
public sealed class SmallFilesystem : IAsyncDisposable
{
    public string Path { get; }
    string Filler => System.IO.Path.Combine(Path, "filler");

    SmallFilesystem(string path) { Path = path; }

    static readonly Lazy<string?> Refusal = new(() =>
    {
        try
        {
            MountAsync(1).GetAwaiter().GetResult().DisposeAsync().AsTask().GetAwaiter().GetResult();
            return null;
        }
        catch (Exception e) { return e.Message; }
    });

    /// <summary>Whether a tmpfs can be mounted here; if not, why (the test is skipped with that reason).</summary>
    public static bool CanMount => Refusal.Value is null;
    public static string? WhyNot => Refusal.Value;

    public static async Task<SmallFilesystem> MountAsync(int megabytes)
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "agw-fs-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(path);
        var mount = await ExternalProcess.RunAsync("/bin/mount", ["-t", "tmpfs", "-o", $"size={megabytes}m", "tmpfs", path], TimeSpan.FromSeconds(10));
        if (mount.ExitCode != 0)
        {
            Directory.Delete(path);
            throw new InvalidOperationException($"cannot mount a tmpfs: {mount.StandardError.Trim()}");
        }
        return new SmallFilesystem(path);
    }

    /// <summary>Writes a file until the filesystem has no space left.</summary>
    public async Task FillAsync()
    {
        var chunk = new byte[64 * 1024];
        await using var file = new FileStream(Filler, FileMode.Append, FileAccess.Write, FileShare.None, 1);
        try
        {
            while (true) await file.WriteAsync(chunk);
        }
        catch (IOException) { /* ENOSPC: full */ }
        // Whatever the last write left over, byte by byte.
        try { while (true) await file.WriteAsync(chunk.AsMemory(0, 1)); }
        catch (IOException) { }
    }

    /// <summary>Gives the space back.</summary>
    public void Free() => File.Delete(Filler);

    public long FreeBytes => new DriveInfo(Path).AvailableFreeSpace;

    public async ValueTask DisposeAsync()
    {
        await ExternalProcess.RunAsync("/bin/umount", ["-l", Path], TimeSpan.FromSeconds(10));
        try { Directory.Delete(Path, true); } catch { }
    }
}
