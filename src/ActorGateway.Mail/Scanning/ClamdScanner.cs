using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ActorGateway.Mail.Scanning;

/// <summary>
/// clamd over TCP with INSTREAM: "zINSTREAM\0", then chunks each prefixed by its length
/// (4 octets, network order), then a zero length; the answer is "stream: OK",
/// "stream: NAME FOUND" or "... ERROR". The message and each decoded MIME part are streamed,
/// so attachments are scanned even where clamd's own mail parsing is off.
/// </summary>
public sealed class ClamdScanner(IPEndPoint endpoint, TimeSpan timeout, int chunkSize = 64 * 1024) : IVirusScanner
{
    public string Name => "clamd";

    public async Task<VirusVerdict> ScanAsync(ScannedMessage message, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            foreach (var (part, content) in MessageParts.Enumerate(message))
            {
                var answer = await InstreamAsync(content, cts.Token);
                var verdict = Parse(answer, part);
                if (verdict.Status != VirusStatus.Clean) return verdict;
            }
            return VirusVerdict.Clean;
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            return VirusVerdict.Failed($"clamd at {endpoint}: {(e is OperationCanceledException ? "timed out" : e.Message)}");
        }
    }

    async Task<string> InstreamAsync(byte[] content, CancellationToken ct)
    {
        using var client = new TcpClient(endpoint.AddressFamily);
        await client.ConnectAsync(endpoint, ct);
        var stream = client.GetStream();
        await stream.WriteAsync("zINSTREAM\0"u8.ToArray(), ct);
        var length = new byte[4];
        for (var at = 0; at < content.Length; at += chunkSize)
        {
            var n = Math.Min(chunkSize, content.Length - at);
            BinaryPrimitives.WriteUInt32BigEndian(length, (uint)n);
            await stream.WriteAsync(length, ct);
            await stream.WriteAsync(content.AsMemory(at, n), ct);
        }
        BinaryPrimitives.WriteUInt32BigEndian(length, 0);
        await stream.WriteAsync(length, ct);

        // clamd may answer early (size limit) and close; read to the NUL terminator.
        var answer = new MemoryStream();
        var buffer = new byte[256];
        int read;
        while ((read = await stream.ReadAsync(buffer, ct)) > 0)
        {
            var nul = Array.IndexOf(buffer, (byte)0, 0, read);
            answer.Write(buffer, 0, nul >= 0 ? nul : read);
            if (nul >= 0) break;
        }
        return Encoding.ASCII.GetString(answer.ToArray()).Trim();
    }

    internal static VirusVerdict Parse(string answer, string part)
    {
        if (answer.EndsWith(" FOUND", StringComparison.Ordinal))
        {
            var name = answer[..^" FOUND".Length];
            var colon = name.IndexOf(": ", StringComparison.Ordinal);
            return VirusVerdict.Infected(colon >= 0 ? name[(colon + 2)..] : name, part);
        }
        if (answer.EndsWith(": OK", StringComparison.Ordinal) || answer == "OK") return VirusVerdict.Clean;
        return VirusVerdict.Failed($"clamd answered '{answer}'");
    }
}
