using System.Text;
using ActorGateway.Mail.Bounce;
using MimeKit;

namespace ActorGateway.Gateway.Tests.Policy;

public sealed class NdrBuilderTests
{
    static readonly byte[] Original = Encoding.ASCII.GetBytes("From: a@s.example\r\nTo: b@r.example\r\nSubject: orig\r\n\r\nbody line\r\n");
    static readonly DateTimeOffset At = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    static MimeMessage Parse(byte[] bytes) => MimeMessage.Load(new MemoryStream(bytes));

    [Fact]
    public void Report_has_the_three_parts_of_rfc3464_and_one_group_per_failed_recipient()
    {
        var ndr = NdrBuilder.Build(new BouncedMessage("Q1", "a@s.example", "env-1", false, At, Original),
            [new FailedRecipient("b@r.example", "rfc822;B@r.example", "5.1.1", "smtp; 550 5.1.1 unknown", "mx.r.example[192.0.2.1]", At),
             new FailedRecipient("c@r.example", null, "5.4.7", "x-gateway; expired", null, At)], "gw.test", "reason");
        var bytes = NdrBuilder.ToBytes(ndr);
        var text = Encoding.ASCII.GetString(bytes);
        var parsed = Parse(bytes);
        Assert.Equal("a@s.example", parsed.To.Mailboxes.Single().Address);
        Assert.Equal("MAILER-DAEMON@gw.test", parsed.From.Mailboxes.Single().Address);
        var report = Assert.IsType<MultipartReport>(parsed.Body);
        Assert.Equal(3, report.Count);
        Assert.Equal("text/plain", report[0].ContentType.MimeType);
        var status = Assert.IsType<MessageDeliveryStatus>(report[1]);
        Assert.True(status.StatusGroups.Count == 3, $"{status.StatusGroups.Count} groups: " + string.Join(" | ", status.StatusGroups.Select(g => g.Count)));
        Assert.Equal("env-1", status.StatusGroups[0]["Original-Envelope-Id"]);
        Assert.Equal("rfc822;B@r.example", status.StatusGroups[1]["Original-Recipient"]);
        Assert.Equal("rfc822; b@r.example", status.StatusGroups[1]["Final-Recipient"]);
        Assert.Equal("5.4.7", status.StatusGroups[2]["Status"]);
        Assert.Equal("orig", Assert.IsType<MessagePart>(report[2]).Message.Subject);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Has_no_bare_cr_or_lf_even_when_the_original_and_the_remote_reply_have_them(bool headersOnly)
    {
        // An original stored before intake normalized line endings, and a receiver's reply with line breaks of its own.
        var original = Encoding.ASCII.GetBytes("From: a@s.example\r\nSubject: bare\rcr\r\nX-Lf: bare\nlf\r\n\r\ntext\r.\r\nMAIL FROM:<evil@s.example>\n.\nend\r");
        var ndr = NdrBuilder.Build(new BouncedMessage("Q1", "a@s.example", null, headersOnly, At, original),
            [new FailedRecipient("b@r.example", null, "5.0.0", "smtp; 550 first\rsecond\nthird", "mx.r.example", At)], "gw.test", "why\rnot");
        var bytes = NdrBuilder.ToBytes(ndr);
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == '\r') Assert.True(i + 1 < bytes.Length && bytes[i + 1] == '\n', $"bare CR at {i}: {Encoding.ASCII.GetString(bytes)}");
            if (bytes[i] == '\n') Assert.True(i > 0 && bytes[i - 1] == '\r', $"bare LF at {i}: {Encoding.ASCII.GetString(bytes)}");
        }
        var text = Encoding.ASCII.GetString(bytes);
        Assert.Contains("<b@r.example>: smtp; 550 first second third", text);
        if (!headersOnly) Assert.Contains("MAIL FROM:<evil@s.example>", text);
    }

    [Fact]
    public void Never_to_the_null_sender()
    {
        Assert.Throws<ArgumentException>(() => NdrBuilder.Build(new BouncedMessage("Q1", "", null, false, At, Original), [], "gw.test", "r"));
    }
}
