using System.Text;
using ActorGateway.Node.Retention;

namespace ActorGateway.Gateway.Tests.Storage;

/// <summary>
/// The Message-ID a delivery record and a delivery event carry is found in the message's bytes
/// without a MIME parser; it is the value MimeKit's parser of the header section gives.
/// </summary>
public sealed class MessageIdOfTests
{
    public static TheoryData<string, string?> Messages => new()
    {
        { "Message-ID: <a1@example.com>\r\nSubject: x\r\n\r\nbody\r\n", "a1@example.com" },
        { "Subject: x\r\nmessage-id: <lower@example.com>\r\n\r\nbody\r\n", "lower@example.com" },
        { "Subject: x\r\nMessage-ID:\r\n <folded@example.com>\r\n\r\nbody\r\n", "folded@example.com" },
        { "Message-ID : <obs-space@example.com>\r\n\r\n", "obs-space@example.com" },
        { "Message-ID: <first@example.com>\r\nMessage-ID: <second@example.com>\r\n\r\n", "first@example.com" },
        { "Message-ID: (comment) <commented@example.com> (more)\r\n\r\n", "commented@example.com" },
        { "Message-ID: not-an-id at all\r\n\r\n", "not-an-idatall" }, // MimeKit reads it leniently, as it reads the field
        { "Message-ID: \r\n\r\n", "" },
        { "Message-IDX: <other@example.com>\r\nSubject: x\r\n\r\n", null },
        { "X-Message-ID: <other@example.com>\r\n\r\n", null },
        { "Subject: x\r\n\r\nMessage-ID: <in-body@example.com>\r\n", null },
        { "Subject: x\r\n\r\n", null },
        { "Message-ID: <lf-only@example.com>\nSubject: x\n\nbody\n", "lf-only@example.com" },
        { "Message-ID: <no-body@example.com>", "no-body@example.com" },
        { "Message-ID: <näme@exämple.com>\r\n\r\n", "näme@exämple.com" },
    };

    [Theory]
    [MemberData(nameof(Messages))]
    public void Finds_the_first_Message_ID_of_the_header_section(string message, string? expected)
    {
        var bytes = Encoding.UTF8.GetBytes(message);
        Assert.Equal(expected, DeliveryRecord.MessageIdOf(bytes));
        Assert.Equal(ByMimeKit(bytes), DeliveryRecord.MessageIdOf(bytes));
    }

    [Fact]
    public void A_message_without_a_header_section_has_none()
    {
        Assert.Null(DeliveryRecord.MessageIdOf([]));
        Assert.Null(DeliveryRecord.MessageIdOf("\r\nMessage-ID: <x@example.com>\r\n"u8.ToArray()));
    }

    /// <summary>The same question put to MimeKit's parser of the header section.</summary>
    static string? ByMimeKit(byte[] body)
    {
        try
        {
            var value = MimeKit.HeaderList.Load(new MemoryStream(body, writable: false))[MimeKit.HeaderId.MessageId];
            return value is null ? null : MimeKit.Utils.MimeUtils.ParseMessageId(value) ?? value.Trim();
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
