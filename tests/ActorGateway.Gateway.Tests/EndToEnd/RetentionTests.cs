using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Testing;
using Microsoft.Data.Sqlite;

namespace ActorGateway.Gateway.Tests.EndToEnd;

/// <summary>
/// A delivered message leaves the store (its events and body), as a Postfix queue file is
/// deleted; its delivery record stays for the retention, for `actorgw queue show` and
/// `actorgw log search`, and is then removed. One node (SQLite), swaks as the client, the
/// receiver a real MTA, actorgw as a real process.
/// </summary>
public sealed class RetentionTests
{
    [Fact]
    public async Task A_delivered_message_leaves_the_journal_its_record_is_found_by_every_field_and_removed_after_the_retention()
    {
        await using var bed = await GatewayTestbed.StartAsync(extraHocon: "gateway.retention { delivery-records = 15s, interval = 1s }");
        var sent = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "Bob@rcpt.example",
            "--header", "Message-Id: <retention-1@client.test>", "--body", "a body that must not stay in the store");
        Assert.True(sent.ExitCode == 0, sent.ToString());
        var id = sent.QueueId();
        Assert.Single(await bed.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(30)));

        // Deleted by the next sweep (every second here): no event of it, no byte of its body.
        var db = Path.Combine(bed.DataDir, "gateway.db");
        await Eventually.WaitAsync(() => Count(db, $"SELECT COUNT(*) FROM journal WHERE persistence_id = 'msg-{id}'") == 0,
            TimeSpan.FromSeconds(15), () => $"msg-{id} is still in the journal\n{bed.Gateway.Output}");
        Assert.Equal(0, Count(db, "SELECT COUNT(*) FROM journal WHERE persistence_id LIKE 'msg-%'"));
        Assert.Equal(0, Count(db, $"SELECT COUNT(*) FROM tags WHERE persistence_id = 'msg-{id}'"));
        Assert.Equal(0, Count(db, "SELECT COUNT(*) FROM journal WHERE instr(message, CAST('must not stay' AS BLOB)) > 0"));

        var show = await Actorgw.RunAsync(bed.Reading("queue", "show", id));
        Assert.True(show.ExitCode == 0, show.ToString());
        Assert.Contains("state:      done", show.StandardOutput);
        Assert.Contains("message-id: retention-1@client.test", show.StandardOutput);
        Assert.Contains("<Bob@rcpt.example> Delivered 2.0.0", show.StandardOutput);
        Assert.Contains("egress=" + GatewayTestbed.GoodAddress, show.StandardOutput);

        var since = DateTimeOffset.UtcNow.AddHours(-1).ToString("O");
        foreach (var search in new[]
                 {
                     new[] { "--queue-id", id }, ["--message-id", "<retention-1@client.test>"], ["--sender", "Alice@sender.example"],
                     ["--recipient", "bob@rcpt.example"], ["--tenant", "local", "--since", since],
                 })
        {
            var found = await Actorgw.RunAsync(bed.Reading(["log", "search", .. search]));
            Assert.True(found.ExitCode == 0 && found.StandardOutput.Contains(id) && found.StandardOutput.Contains("1 record(s)"),
                $"log search {string.Join(' ', search)}:\n{found}");
        }
        var none = await Actorgw.RunAsync(bed.Reading("log", "search", "--recipient", "carol@rcpt.example"));
        Assert.Contains("0 record(s)", none.StandardOutput);

        // After the retention (15 s here) the record is gone too.
        var until = DateTime.UtcNow.AddSeconds(40);
        ExternalProcess gone;
        while (!(gone = await Actorgw.RunAsync(bed.Reading("log", "search", "--queue-id", id))).StandardOutput.Contains("0 record(s)"))
        {
            if (DateTime.UtcNow > until) Assert.Fail($"the record outlived its retention:\n{gone}\n{bed.Gateway.Output}");
            await Task.Delay(1000);
        }
        Assert.Equal(0, Count(db, "SELECT COUNT(*) FROM delivery_records"));
        var shown = await Actorgw.RunAsync(bed.Reading("queue", "show", id));
        Assert.NotEqual(0, shown.ExitCode);
        Assert.Contains($"no message {id}", shown.StandardError + shown.StandardOutput);
    }

    static long Count(string db, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={db};Mode=ReadOnly");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar());
    }
}
