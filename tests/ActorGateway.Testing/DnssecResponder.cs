using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ActorGateway.Testing;

/// <summary>
/// A small DNS responder over UDP on loopback that answers as a DNSSEC-validating resolver
/// would: the AD bit set on answers from the test's "signed" names, clear on those marked
/// insecure; SERVFAIL where the test says so. It serves MX, A and TLSA records (dnsmasq can
/// set neither TLSA nor AD), and CNAMEs one level deep. Records may be added while it runs; names it does not know are
/// NXDOMAIN (authenticated, as a signed parent's denial would be).
/// </summary>
public sealed class DnssecResponder : IAsyncDisposable
{
    const ushort TypeA = 1, TypeCname = 5, TypeMx = 15, TypeOpt = 41, TypeTlsa = 52;
    readonly UdpClient _udp = new(new IPEndPoint(IPAddress.Loopback, 0));
    readonly CancellationTokenSource _stop = new();
    readonly Task _loop;
    readonly ConcurrentDictionary<(string Name, ushort Type), ConcurrentBag<byte[]>> _records = new();
    readonly ConcurrentDictionary<string, bool> _insecure = new(StringComparer.OrdinalIgnoreCase);
    readonly ConcurrentDictionary<(string Name, ushort Type), bool> _servfail = new();

    public int Port => ((IPEndPoint)_udp.Client.LocalEndPoint!).Port;
    public string Endpoint => $"127.0.0.1:{Port}";

    public DnssecResponder() => _loop = Task.Run(ServeAsync);

    public DnssecResponder Mx(string domain, string host, ushort preference = 10)
    {
        var rdata = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(rdata, preference);
        return Add(domain, TypeMx, [.. rdata, .. EncodeName(host)]);
    }

    /// <summary>An alias: queries for other types at <paramref name="alias"/> get this CNAME and the target's records.</summary>
    public DnssecResponder Cname(string alias, string target) => Add(alias, TypeCname, EncodeName(target));

    public DnssecResponder A(string host, string address) => Add(host, TypeA, IPAddress.Parse(address).GetAddressBytes());

    public DnssecResponder Tlsa(string name, byte usage, byte selector, byte matchingType, byte[] data) =>
        Add(name, TypeTlsa, [usage, selector, matchingType, .. data]);

    /// <summary>Answers for this name come without the AD bit: not validated (an unsigned zone).</summary>
    public DnssecResponder Insecure(string name) { _insecure[Normalize(name)] = true; return this; }

    /// <summary>TLSA queries for this name get SERVFAIL (a validation or server failure).</summary>
    public DnssecResponder ServFailTlsa(string name) { _servfail[(Normalize(name), TypeTlsa)] = true; return this; }

    DnssecResponder Add(string name, ushort type, byte[] rdata)
    {
        _records.GetOrAdd((Normalize(name), type), _ => []).Add(rdata);
        return this;
    }

    static string Normalize(string name) => name.TrimEnd('.').ToLowerInvariant();

    async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            UdpReceiveResult request;
            try { request = await _udp.ReceiveAsync(_stop.Token); }
            catch (OperationCanceledException) { return; }
            catch (SocketException) { continue; }
            if (Answer(request.Buffer) is { } reply)
                try { await _udp.SendAsync(reply, request.RemoteEndPoint, _stop.Token); } catch (Exception) when (!_stop.IsCancellationRequested) { }
        }
    }

    byte[]? Answer(byte[] query)
    {
        if (query.Length < 12 || BinaryPrimitives.ReadUInt16BigEndian(query.AsSpan(4)) != 1) return null;
        var offset = 12;
        var labels = new List<string>();
        while (offset < query.Length && query[offset] != 0)
        {
            int length = query[offset++];
            if (offset + length > query.Length) return null;
            labels.Add(Encoding.ASCII.GetString(query, offset, length));
            offset += length;
        }
        offset++;
        if (offset + 4 > query.Length) return null;
        var questionEnd = offset + 4;
        var name = Normalize(string.Join('.', labels));
        var type = BinaryPrimitives.ReadUInt16BigEndian(query.AsSpan(offset));
        var wantsDnssec = BinaryPrimitives.ReadUInt16BigEndian(query.AsSpan(10)) > 0; // an OPT record (EDNS) follows

        // Owner (null: the question's name), type, data.
        var answers = (_records.TryGetValue((name, type), out var found) ? found : []).Select(r => ((string?)null, type, r)).ToList();
        var authentic = !_insecure.ContainsKey(name);
        if (answers.Count == 0 && type != TypeCname && _records.TryGetValue((name, TypeCname), out var alias))
        {
            var target = DecodeName(alias.First());
            answers.Add((null, TypeCname, alias.First()));
            answers.AddRange((_records.TryGetValue((target, type), out var more) ? more : []).Select(r => ((string?)target, type, r)));
            authentic &= !_insecure.ContainsKey(target);
        }
        var exists = _records.Keys.Any(k => k.Name == name);
        var rcode = _servfail.ContainsKey((name, type)) ? 2 : answers.Count == 0 && !exists ? 3 : 0;
        if (rcode == 2) answers.Clear();
        authentic &= rcode != 2;

        var reply = new List<byte>();
        reply.AddRange(query.AsSpan(0, 2).ToArray());
        var flags = (ushort)(0x8000 | (query[2] & 0x01) << 8 | 0x0080 | (authentic ? 0x0020 : 0) | rcode);
        reply.AddRange([(byte)(flags >> 8), (byte)flags, 0, 1, (byte)(answers.Count >> 8), (byte)answers.Count, 0, 0, 0, (byte)(wantsDnssec ? 1 : 0)]);
        reply.AddRange(query.AsSpan(12, questionEnd - 12).ToArray());
        foreach (var (owner, rtype, rdata) in answers)
        {
            reply.AddRange(owner is null ? [0xC0, 0x0C] : EncodeName(owner));
            reply.AddRange([(byte)(rtype >> 8), (byte)rtype, 0, 1, 0, 0, 0, 1, (byte)(rdata.Length >> 8), (byte)rdata.Length]);
            reply.AddRange(rdata);
        }
        // OPT: 4096-byte payload, the DO bit echoed.
        if (wantsDnssec) reply.AddRange([0, (byte)(TypeOpt >> 8), TypeOpt & 0xFF, 0x10, 0x00, 0, 0, 0x80, 0, 0, 0]);
        return [.. reply];
    }

    static string DecodeName(byte[] encoded)
    {
        var labels = new List<string>();
        for (var i = 0; i < encoded.Length && encoded[i] != 0; i += encoded[i] + 1)
            labels.Add(Encoding.ASCII.GetString(encoded, i + 1, encoded[i]));
        return string.Join('.', labels);
    }

    static byte[] EncodeName(string name)
    {
        var bytes = new List<byte>();
        foreach (var label in Normalize(name).Split('.'))
        {
            bytes.Add((byte)label.Length);
            bytes.AddRange(Encoding.ASCII.GetBytes(label));
        }
        bytes.Add(0);
        return [.. bytes];
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _udp.Dispose();
        try { await _loop; } catch { }
        _stop.Dispose();
    }
}
