using System.Collections.Concurrent;
using System.Text.Json;
using Akka.Actor;
using Akka.Serialization;

namespace ActorGateway.Node.Serialization;

/// <summary>
/// JSON (System.Text.Json) for the gateway's own records, with the type name as manifest,
/// so journal rows stay readable and survive refactoring of anything but the names.
/// </summary>
public sealed class GatewayJsonSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    static readonly JsonSerializerOptions Options = new() { IncludeFields = false };
    static readonly ConcurrentDictionary<string, Type> Types = new();

    public override byte[] ToBinary(object obj) => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), Options);

    public override object FromBinary(byte[] bytes, string manifest)
    {
        var type = Types.GetOrAdd(manifest, m => typeof(IGatewayMessage).Assembly.GetType(m)
                                              ?? throw new System.Runtime.Serialization.SerializationException($"unknown manifest {m}"));
        return JsonSerializer.Deserialize(bytes, type, Options)!;
    }

    public override string Manifest(object o) => o.GetType().FullName!;
}
