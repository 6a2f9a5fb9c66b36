using System.Net;
using System.Text;
using ActorGateway.Mail.Scanning;
using ActorGateway.Testing;
using MimeKit;

namespace ActorGateway.Gateway.Tests.Policy;

/// <summary>The built-in scanner and the clamd client on the same cases, clamd being the real daemon.</summary>
public sealed class VirusScannerTests : IAsyncLifetime
{
    public const string Eicar = @"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
    const string TestFiles = "/usr/share/clamav-testfiles";
    // A body pattern with a wildcard (ABC?EFGH), for both scanners.
    const string WildcardNdb = "Test-Wildcard:0:*:414243??45464748";
    Clamd _clamd = null!;
    TempDirectory _sigs = null!;

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists($"{TestFiles}/clam.exe"), "the Debian package clamav-testfiles is missing");
        _clamd = await Clamd.StartAsync([Clamd.HdbLine($"{TestFiles}/clam.exe", "ClamAV-Test-File-Exe")], [WildcardNdb]);
        _sigs = new TempDirectory();
        File.WriteAllText(_sigs.File("local.hdb"), Clamd.HdbLine($"{TestFiles}/clam.exe", "ClamAV-Test-File-Exe") + "\n");
        File.WriteAllText(_sigs.File("local.ndb"), WildcardNdb + "\n");
    }

    public async Task DisposeAsync() { await _clamd.DisposeAsync(); _sigs.Dispose(); }

    IVirusScanner[] Scanners() =>
    [
        new BuiltInVirusScanner(ClamAvSignatures.Load(_sigs.Path)),
        new ClamdScanner(IPEndPoint.Parse(_clamd.Endpoint), TimeSpan.FromSeconds(30)),
    ];

    public static byte[] MessageWith(string fileName, byte[] attachment)
    {
        var m = new MimeMessage();
        m.From.Add(MailboxAddress.Parse("alice@sender.example"));
        m.To.Add(MailboxAddress.Parse("bob@rcpt.example"));
        m.Subject = "see attachment";
        var body = new BodyBuilder { TextBody = "Hello, the file is attached.\n" };
        body.Attachments.Add(fileName, attachment); // base64
        m.Body = body.ToMessageBody();
        using var ms = new MemoryStream();
        m.WriteTo(ms);
        return ms.ToArray();
    }

    [Fact]
    public async Task Eicar_in_a_base64_attachment_is_found_in_that_part()
    {
        var message = MessageWith("eicar.com", Encoding.ASCII.GetBytes(Eicar));
        Assert.DoesNotContain("EICAR", Encoding.ASCII.GetString(message)); // only base64 on the wire
        foreach (var scanner in Scanners())
        {
            var v = await scanner.ScanAsync(message, CancellationToken.None);
            Assert.Equal(VirusStatus.Infected, v.Status);
            Assert.StartsWith("Eicar-Test-Signature", v.Signature);
            Assert.Equal("eicar.com", v.Part);
        }
    }

    [Fact]
    public async Task A_clamav_test_file_is_found_through_its_hash()
    {
        var message = MessageWith("setup.exe", File.ReadAllBytes($"{TestFiles}/clam.exe"));
        foreach (var scanner in Scanners())
        {
            var v = await scanner.ScanAsync(message, CancellationToken.None);
            Assert.Equal(VirusStatus.Infected, v.Status);
            Assert.StartsWith("ClamAV-Test-File-Exe", v.Signature);
            Assert.Equal("setup.exe", v.Part);
        }
    }

    [Theory]
    [InlineData("xxABCzEFGHyy", 0, true)]
    [InlineData("ABCzEFGx", 0, false)]
    [InlineData("ABCEFGH", 0, false)]
    [InlineData("ABCqEFGH", 200_000, true)] // after a long run of the bytes EICAR's pattern starts with
    [InlineData("", 200_000, false)]
    public async Task A_body_pattern_with_a_wildcard_is_found_where_clamd_finds_it(string tail, int xs, bool infected)
    {
        var content = Encoding.ASCII.GetBytes(new string('X', xs) + tail + (tail.Length == 0 ? "" : "\n"));
        var message = MessageWith("data.bin", content);
        foreach (var scanner in Scanners())
        {
            var v = await scanner.ScanAsync(message, CancellationToken.None);
            Assert.True(v.Status == (infected ? VirusStatus.Infected : VirusStatus.Clean), $"{scanner.GetType().Name}: {v.Status} {v.Signature}");
            if (infected) Assert.StartsWith("Test-Wildcard", v.Signature);
        }
    }

    [Fact]
    public async Task Clean_mail_is_clean()
    {
        var message = MessageWith("report.pdf", Encoding.ASCII.GetBytes("%PDF-1.4 nothing to see"));
        foreach (var scanner in Scanners())
            Assert.Equal(VirusStatus.Clean, (await scanner.ScanAsync(message, CancellationToken.None)).Status);
    }

    [Fact]
    public async Task A_clamd_that_is_not_there_is_a_failure_never_clean()
    {
        var scanner = new ClamdScanner(new IPEndPoint(IPAddress.Loopback, FreePort.Next()), TimeSpan.FromSeconds(5));
        var v = await scanner.ScanAsync(MessageWith("a.txt", [1, 2, 3]), CancellationToken.None);
        Assert.Equal(VirusStatus.ScannerFailed, v.Status);
    }

    [Fact]
    public void Bad_signature_files_stop_the_start()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("bad.ndb"), "Name:0:*:zz\n");
        Assert.ThrowsAny<FormatException>(() => ClamAvSignatures.Load(dir.Path));
        Assert.Throws<DirectoryNotFoundException>(() => ClamAvSignatures.Load(dir.File("missing")));
    }
}
