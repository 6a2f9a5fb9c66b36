using MailKit.Net.Smtp;
using MimeKit;

namespace ActorGateway.Gateway.Tests.Support;

/// <summary>MailKit as the client of the cluster tests: one message per call, its Message-ID the test's handle.</summary>
public static class ClusterMail
{
    public static MimeMessage Message(string messageId, string from, string to, string body = "Your order has shipped.")
    {
        var message = new MimeMessage { MessageId = messageId, Subject = messageId };
        message.From.Add(MailboxAddress.Parse(from));
        message.To.Add(MailboxAddress.Parse(to));
        message.Body = new TextPart("plain") { Text = body };
        return message;
    }

    /// <summary>Sends; returns "250" or the refusal ("451 4.7.1 Ratelimit reached") or the transport error.</summary>
    public static async Task<string> TrySendAsync(this SmtpClient client, MimeMessage message)
    {
        try
        {
            await client.SendAsync(message);
            return "250";
        }
        catch (SmtpCommandException e)
        {
            return $"{(int)e.StatusCode} {e.Message}";
        }
        catch (Exception e) when (e is SmtpProtocolException or IOException or System.Net.Sockets.SocketException or OperationCanceledException)
        {
            return $"{e.GetType().Name}: {e.Message}";
        }
    }

    /// <summary>The Message-ID (without brackets) of a received message, from its headers.</summary>
    public static string? MessageId(this ActorGateway.Testing.ReceivedMail mail)
    {
        var match = System.Text.RegularExpressions.Regex.Match(mail.Text, @"(?im)^Message-ID:\s*<([^>]+)>");
        return match.Success ? match.Groups[1].Value : null;
    }

    /// <summary>The ids among <paramref name="ids"/> that the receiver got more than once, with how often.</summary>
    public static IReadOnlyDictionary<string, int> Duplicates(ActorGateway.Testing.TestMailReceiver receiver, IEnumerable<string> ids)
    {
        var wanted = ids.ToHashSet();
        return receiver.Messages().Select(m => m.MessageId()).Where(id => id is not null && wanted.Contains(id))
            .GroupBy(id => id!).Where(g => g.Count() > 1).ToDictionary(g => g.Key, g => g.Count());
    }

    /// <summary>Asserts that none of <paramref name="ids"/> arrived twice.</summary>
    public static void AssertDeliveredOnce(ActorGateway.Testing.TestMailReceiver receiver, IEnumerable<string> ids, Func<string> context)
    {
        var twice = Duplicates(receiver, ids);
        Assert.True(twice.Count == 0, $"{twice.Count} message(s) delivered more than once: " +
                                      string.Join(", ", twice.Take(10).Select(d => $"{d.Key} x{d.Value}")) + "\n" + context());
    }

    /// <summary>Waits until every id has arrived at the receiver; returns the ids still missing at the timeout.</summary>
    public static async Task<IReadOnlyCollection<string>> WaitForIdsAsync(ActorGateway.Testing.TestMailReceiver receiver, IEnumerable<string> ids, TimeSpan timeout)
    {
        var missing = new HashSet<string>(ids);
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            foreach (var m in receiver.Messages()) if (m.MessageId() is { } id) missing.Remove(id);
            if (missing.Count == 0 || DateTime.UtcNow > until) return missing;
            await Task.Delay(250);
        }
    }
}
