/// Where a ``BigQuerySink`` writes and how it signs in.
///
/// ```swift
/// let key = try Array(Data(contentsOf: URL(fileURLWithPath: "/etc/callfeed/bigquery-key.json")))
/// let sink = try BigQuerySink(configuration: BigQueryConfiguration(
///     project: "acme-analytics", auth: .serviceAccountKey(key)))
/// ```
public struct BigQueryConfiguration: Sendable {
    /// The Google Cloud project that owns the dataset and runs (and pays for) the query jobs.
    public var project: String
    /// The dataset holding CallFeed's tables; created by ``BigQuerySink/prepare()`` when missing.
    public var dataset: String
    /// The dataset's location (`US`, `EU`, `europe-west3`, …); jobs run there too.
    public var location: String
    /// The REST API's base URL, without a trailing slash. Override it for an emulator
    /// (`http://127.0.0.1:19050`); the sink appends `/bigquery/v2/…`.
    public var endpoint: String
    /// How requests are authorised.
    public var auth: BigQueryAuth
    /// How long one HTTP request may take (a `jobs.query` call waits up to 10 s of it for the job).
    public var requestTimeout: Duration
    /// How long the sink waits for one query job, polling `getQueryResults`, before giving up with a
    /// transient error. The job may still finish afterwards; the retried batch is then unchanged.
    public var queryTimeout: Duration

    /// Makes a configuration.
    /// - Parameters:
    ///   - project: The Google Cloud project id (`acme-analytics`).
    ///   - dataset: The dataset; letters, digits and `_` only.
    ///   - location: The dataset's location.
    ///   - endpoint: The REST API's base URL.
    ///   - auth: How requests are authorised.
    ///   - requestTimeout: The limit of one HTTP request.
    ///   - queryTimeout: The limit of one query job.
    public init(project: String, dataset: String = "callfeed", location: String = "US",
                endpoint: String = "https://bigquery.googleapis.com", auth: BigQueryAuth,
                requestTimeout: Duration = .seconds(60), queryTimeout: Duration = .seconds(300)) {
        self.project = project
        self.dataset = dataset
        self.location = location
        self.endpoint = endpoint
        self.auth = auth
        self.requestTimeout = requestTimeout
        self.queryTimeout = queryTimeout
    }
}

/// How a ``BigQuerySink`` authorises its requests.
///
/// - Important: Error messages name the configuration key a credential came from
///   (``settingName``), never the credential itself.
public enum BigQueryAuth: Sendable {
    /// A service-account key file's bytes (the JSON that `gcloud iam service-accounts keys create`
    /// writes). The sink signs a JWT with the key (RS256), trades it at the key's `token_uri` for an
    /// OAuth access token, and reuses the token until a minute before it expires.
    case serviceAccountKey([UInt8])
    /// A ready OAuth access token (e.g. `gcloud auth print-access-token`). It is not refreshed:
    /// tokens live about an hour, so this suits tests and one-off loads.
    case token(String)
    /// No `Authorization` header: for an emulator.
    case none

    /// The configuration key the credential comes from, for error messages.
    public var settingName: String {
        switch self {
        case .serviceAccountKey: return "load.bigquery.credentials_file"
        case .token: return "load.bigquery.token"
        case .none: return "load.bigquery.endpoint (no credentials configured)"
        }
    }
}
