using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace EFCore.Dsql.FunctionalTests.Local;

/// <summary>Clients verify the emulator's certificate (<c>SSL Mode=VerifyFull</c>) against the root certificate it writes out.</summary>
public sealed class DsqlLocalTlsTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("localhost")]
    public async Task VerifyFull_with_the_exported_root_certificate_connects(string host)
    {
        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions());
        Assert.NotNull(server.RootCertificatePath);
        Assert.True(File.Exists(server.RootCertificatePath));

        Assert.Equal(1, await SelectOneAsync(VerifyFull(server, host, server.RootCertificatePath)));
    }

    [Fact]
    public async Task VerifyFull_with_a_different_root_certificate_is_refused()
    {
        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions());
        using var directoryOwner = new TempDirectory("dsql-local-wrong-root-");
        var directory = directoryOwner.Path;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Some other root CA", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var otherRoot = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(1));
        var wrongRoot = Path.Combine(directory, "other-root.crt");
        await File.WriteAllTextAsync(wrongRoot, otherRoot.ExportCertificatePem());

        var error = await Assert.ThrowsAnyAsync<Exception>(() => SelectOneAsync(VerifyFull(server, "127.0.0.1", wrongRoot)));
        Assert.True(Flatten(error).Any(e => e is AuthenticationException), $"Expected a TLS authentication failure, got: {error}");
    }

    [Fact]
    public async Task Root_certificate_in_the_data_directory_survives_a_restart_and_still_verifies()
    {
        using var dataDirectoryOwner = new TempDirectory("dsql-local-tls-restart-");
        var dataDirectory = dataDirectoryOwner.Path;
        string rootPath;
        string firstRoot;
        await using (var first = await DsqlLocalServer.StartAsync(new DsqlLocalOptions { DataDirectory = dataDirectory }))
        {
            rootPath = first.RootCertificatePath!;
            Assert.StartsWith(dataDirectory, rootPath, StringComparison.Ordinal);
            firstRoot = await File.ReadAllTextAsync(rootPath);
        }

        await using var second = await DsqlLocalServer.StartAsync(new DsqlLocalOptions { DataDirectory = dataDirectory });
        Assert.Equal(rootPath, second.RootCertificatePath);
        Assert.Equal(firstRoot, await File.ReadAllTextAsync(rootPath));
        Assert.Equal(1, await SelectOneAsync(VerifyFull(second, "127.0.0.1", rootPath)));
    }

    [Fact]
    public async Task Temporary_root_certificate_is_deleted_with_the_server()
    {
        var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions());
        var rootPath = server.RootCertificatePath!;
        Assert.True(File.Exists(rootPath));
        await server.DisposeAsync();
        Assert.False(File.Exists(rootPath));
    }

    [Fact]
    public async Task Certificate_names_the_listen_host_and_endpoint_when_serving_all_interfaces()
    {
        await using var server = await DsqlLocalServer.StartAsync(
            new DsqlLocalOptions { ListenAddress = IPAddress.Any, Endpoint = "dsql.team.example" });
        using var root = X509CertificateLoader.LoadCertificateFromFile(server.RootCertificatePath!);
        var names = await ServerCertificateNamesAsync(server.Port);

        Assert.Equal("127.0.0.1", server.Host);
        Assert.Equal(["localhost", "127.0.0.1", "::1", Dns.GetHostName(), "dsql.team.example"], names);
        // The emulator is reachable by the machine's name, verified against the exported root.
        Assert.Equal(1, await SelectOneAsync(VerifyFull(server, Dns.GetHostName(), server.RootCertificatePath!)));
    }

    [Fact]
    public async Task Logger_factory_receives_start_up_and_refused_logins_without_secrets()
    {
        var lines = new List<string>();
        using var loggerFactory = LoggerFactory.Create(logging => logging.AddProvider(new ListLoggerProvider(lines)));
        const string secret = "team/secret+key-that-must-not-be-logged";
        var options = new DsqlLocalOptions { LoggerFactory = loggerFactory };
        options.Credentials.Add(new DsqlLocalCredential("AKIDTEAMEXAMPLE1", secret));
        await using var server = await DsqlLocalServer.StartAsync(options);

        var wrong = new NpgsqlConnectionStringBuilder(server.GetConnectionString()) { Pooling = false, Password = "not-a-token" };
        await using (var connection = new NpgsqlConnection(wrong.ConnectionString))
        {
            await Assert.ThrowsAsync<PostgresException>(() => connection.OpenAsync());
        }

        string[] logged;
        lock (lines)
        {
            logged = [.. lines];
        }

        Assert.Contains(logged, l => l.StartsWith($"Dsql.Local: Dsql.Local listening on 127.0.0.1:{server.Port} ", StringComparison.Ordinal) && l.Contains("AKIDTEAMEXAMPLE1", StringComparison.Ordinal));
        Assert.Contains(logged, l => l.Contains("refused login for role 'admin'", StringComparison.Ordinal));
        Assert.DoesNotContain(logged, l => l.Contains(secret, StringComparison.Ordinal) || l.Contains("not-a-token", StringComparison.Ordinal));
    }

    private static string VerifyFull(DsqlLocalServer server, string host, string rootCertificate)
        => new NpgsqlConnectionStringBuilder(server.GetConnectionString())
        {
            Host = host,
            SslMode = SslMode.VerifyFull,
            RootCertificate = rootCertificate,
            Pooling = false,
        }.ConnectionString;

    private static async Task<object?> SelectOneAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT 1", connection);
        return await command.ExecuteScalarAsync();
    }

    private static IEnumerable<Exception> Flatten(Exception? error)
    {
        for (; error is not null; error = error.InnerException)
        {
            yield return error;
        }
    }

    /// <summary>The subject alternative names of the certificate the emulator serves, read from a TLS handshake.</summary>
    private static async Task<List<string>> ServerCertificateNamesAsync(int port)
    {
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        await stream.WriteAsync(new byte[] { 0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F }); // SSLRequest
        var answer = new byte[1];
        Assert.Equal(1, await stream.ReadAsync(answer));
        Assert.Equal((byte)'S', answer[0]);
        await using var tls = new System.Net.Security.SslStream(stream, false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync("localhost");
        using var certificate = new X509Certificate2(tls.RemoteCertificate!);
        var extension = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        return [.. extension.EnumerateDnsNames().Select(n => n).Concat(extension.EnumerateIPAddresses().Select(a => a.ToString()))
            .OrderBy(n => Array.IndexOf((string[])["localhost", "127.0.0.1", "::1", Dns.GetHostName(), "dsql.team.example"], n))];
    }

    private sealed class ListLoggerProvider(List<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new ListLogger(categoryName, lines);

        public void Dispose()
        {
        }

        private sealed class ListLogger(string category, List<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (lines)
                {
                    lines.Add($"{category}: {formatter(state, exception)}");
                }
            }
        }
    }
}
