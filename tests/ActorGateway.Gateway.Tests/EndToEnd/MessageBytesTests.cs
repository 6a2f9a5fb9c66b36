using System.Text;
using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.EndToEnd;

/// <summary>
/// The receiver gets the message as the client sent it, byte for byte, behind the gateway's
/// trace field: a multipart message with a preamble, an epilogue, nested parts, a base64
/// attachment, folded fields and trailing white space, which the delivery's MIME parser must
/// neither rewrite nor lose.
/// </summary>
public sealed class MessageBytesTests
{
    static byte[] Multipart()
    {
        var random = new Random(7);
        var attachment = new byte[3000];
        random.NextBytes(attachment);
        var base64 = Convert.ToBase64String(attachment, Base64FormattingOptions.InsertLineBreaks);
        return Encoding.ASCII.GetBytes(
            "From: Alice <alice@sender.example>\r\n" +
            "To: Bob <bob@rcpt.example>\r\n" +
            "Subject: a folded\r\n\tsubject with  two spaces \r\n" +
            "Message-ID: <bytes@sender.example>\r\n" +
            "MIME-Version: 1.0\r\n" +
            "Content-Type: multipart/mixed;\r\n boundary=\"outer\"\r\n" +
            "\r\n" +
            "This is the preamble.\r\n" +
            "--outer\r\n" +
            "Content-Type: multipart/alternative; boundary=inner\r\n" +
            "\r\n" +
            "--inner\r\n" +
            "Content-Type: text/plain; charset=utf-8\r\n" +
            "Content-Transfer-Encoding: quoted-printable\r\n" +
            "\r\n" +
            "Gr=C3=BC=C3=9Fe, trailing space  \r\n" +
            "   \r\n" +
            "a soft line break=\r\n continues\r\n" +
            "--inner\r\n" +
            "Content-Type: text/html; charset=us-ascii\r\n" +
            "\r\n" +
            "<p>hello</p>\r\n" +
            "--inner--\r\n" +
            "\r\n" +
            "--outer\r\n" +
            "Content-Type: application/octet-stream; name=\"data.bin\"\r\n" +
            "Content-Disposition: attachment; filename=\"data.bin\"\r\n" +
            "Content-Transfer-Encoding: base64\r\n" +
            "\r\n" +
            base64 + "\r\n" +
            "--outer--\r\n" +
            "This is the epilogue.\r\n");
    }

    [Fact]
    public async Task A_multipart_message_arrives_as_sent_behind_the_trace_field()
    {
        await using var bed = await GatewayTestbed.StartAsync();
        using var work = new TempDirectory();
        var message = Multipart();
        var replies = await BareLineEndingTests.SendRawAsync(bed, work, ("alice@sender.example", "bob@rcpt.example", [.. message, .. ".\r\n"u8]));
        Assert.StartsWith("250 2.0.0 Ok: queued as", Assert.Single(replies));
        await bed.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(30), m => m.Recipients.Contains("bob@rcpt.example"));

        var mail = Assert.Single(bed.Receiver.Messages(), m => m.Recipients.Contains("bob@rcpt.example"));
        Assert.StartsWith("Received: ", mail.Text);
        Assert.True(mail.Data.AsSpan().EndsWith(message), "the receiver's copy does not end with the message as sent:\n" + mail.Text);
        // What comes before it is the gateway's own trace field, nothing of the message.
        var prefix = Encoding.ASCII.GetString(mail.Data, 0, mail.Data.Length - message.Length);
        Assert.DoesNotContain("alice@sender.example>\r\nTo:", prefix);
        Assert.EndsWith("\r\n", prefix);
    }
}
