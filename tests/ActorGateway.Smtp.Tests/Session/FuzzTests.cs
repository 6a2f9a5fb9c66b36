using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using ActorGateway.Smtp.Tests.Support;

namespace ActorGateway.Smtp.Tests.Session;

/// <summary>
/// Thousands of random sessions from a fixed seed: fragments of valid SMTP mixed with garbage,
/// binary bytes, overlong lines and abrupt ends. Every reply must be well-formed, the server
/// must stay up, and its memory must stay bounded.
/// </summary>
public sealed partial class FuzzTests
{
    static readonly string[] Fragments =
    [
        "EHLO fuzz.example\r\n", "HELO x\r\n", "MAIL FROM:<a@s.example>\r\n", "MAIL FROM:<> SIZE=99999999999\r\n",
        "RCPT TO:<b@r.example>\r\n", "RCPT TO:<b@r.example> NOTIFY=FAILURE ORCPT=rfc822;b@r.example\r\n", "DATA\r\n",
        "BDAT 5\r\n", "BDAT 3 LAST\r\n", "BDAT 99999999999999999999\r\n", "RSET\r\n", "NOOP\r\n", "VRFY x\r\n", "HELP\r\n",
        "AUTH PLAIN\r\n", "AUTH LOGIN\r\n", "STARTTLS\r\n", ".\r\n", "..\r\n", "\r\n", "\n", "\r", "\0", "Subject: x\r\n",
        "MAIL FROM:<\"unterminated@s.example>\r\n", "RCPT TO:<@@@>\r\n", "mail from:<A@S.EXAMPLE>\r\n",
    ];

    [GeneratedRegex(@"^\d{3}[ -]")]
    private static partial Regex ReplyLine();

    [Fact]
    public async Task Random_sessions_get_well_formed_replies_and_the_server_survives()
    {
        await using var server = await TestSmtpServer.StartAsync(o => o with
        {
            CommandTimeout = TimeSpan.FromSeconds(3), DataTimeout = TimeSpan.FromSeconds(3),
            MaxMessageSize = 64 * 1024, MaxConnectionsPerClient = 100,
        });
        server.Hooks.DiscardBodies = true;
        var random = new Random(20261123);
        const int sessions = 2000, parallel = 8;
        var scripts = Enumerable.Range(0, sessions).Select(_ => MakeScript(random)).ToArray();

        var memoryBefore = Process.GetCurrentProcess().WorkingSet64;
        var malformed = new List<string>();
        var next = -1;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, parallel).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < sessions)
            {
                var output = await RunScriptAsync(server, scripts[i]);
                foreach (var line in output.Split("\r\n", StringSplitOptions.RemoveEmptyEntries))
                    if (!ReplyLine().IsMatch(line)) lock (malformed) malformed.Add($"session {i}: {line}");
            }
        }));
        Assert.Empty(malformed);
        Assert.True(watch.Elapsed < TimeSpan.FromMinutes(2), $"took {watch.Elapsed}");

        // Still serving, nothing left open, and memory did not run away.
        await LimitTests.WaitForAsync(() => server.Host.Server.OpenSessions == 0, 15);
        await using var client = await RawSmtpClient.ConnectAsync(server.EndPoint);
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        Assert.Equal(250, (await client.CommandAsync("EHLO after.example")).Code);
        GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();
        var grown = Process.GetCurrentProcess().WorkingSet64 - memoryBefore;
        Assert.True(grown < 256L * 1024 * 1024, $"working set grew by {grown / 1024 / 1024} MiB");
    }

    static byte[] MakeScript(Random random)
    {
        var bytes = new List<byte>();
        var n = random.Next(1, 30);
        for (var k = 0; k < n; k++)
        {
            switch (random.Next(10))
            {
                case < 6: bytes.AddRange(Encoding.UTF8.GetBytes(Fragments[random.Next(Fragments.Length)])); break;
                case 6: { var b = new byte[random.Next(1, 300)]; random.NextBytes(b); bytes.AddRange(b); break; }
                case 7: bytes.AddRange(Encoding.ASCII.GetBytes(new string((char)random.Next(33, 127), random.Next(400, 3000)))); break;
                case 8: bytes.AddRange(Encoding.ASCII.GetBytes("RCPT TO:<" + new string('x', random.Next(1, 400)) + "@r.example>\r\n")); break;
                default: bytes.AddRange("Line of text for a message body\r\n"u8.ToArray()); break;
            }
        }
        return bytes.ToArray();
    }

    /// <summary>Sends the script, half-closes, and reads whatever the server says until it closes.</summary>
    static async Task<string> RunScriptAsync(TestSmtpServer server, byte[] script)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.EndPoint);
        var stream = tcp.GetStream();
        var output = new MemoryStream();
        var reading = Task.Run(async () =>
        {
            var buffer = new byte[8192];
            try
            {
                int r;
                while ((r = await stream.ReadAsync(buffer)) > 0) output.Write(buffer, 0, r);
            }
            catch (IOException) { }
        });
        try
        {
            await stream.WriteAsync(script);
            tcp.Client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is IOException or SocketException) { /* the server closed first: fine */ }
        await reading.WaitAsync(TimeSpan.FromSeconds(20));
        return Encoding.Latin1.GetString(output.ToArray());
    }
}
