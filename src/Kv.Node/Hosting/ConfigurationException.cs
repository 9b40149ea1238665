namespace Kv.Node.Hosting;

/// <summary>A setting is invalid: the message says which and what to do; the node exits with code 2 and no stack trace.</summary>
public sealed class ConfigurationException(string message) : Exception(message);
