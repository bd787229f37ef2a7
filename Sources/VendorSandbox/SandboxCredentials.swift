import Foundation

/// CTM credentials: an agency key that sees every sandbox account (`ctm.md` §1).
public struct CTMCredentials: Sendable, Equatable {
    /// Basic-auth user name.
    public var accessKey: String
    /// Basic-auth password; also the key of the webhooks' `X-CTM-Signature` (`ctm.md` §7).
    public var secretKey: String
    public init(accessKey: String = "ctm_sandbox_access_key", secretKey: String = "ctm_sandbox_secret_key") {
        self.accessKey = accessKey; self.secretKey = secretKey
    }
}

/// CallKeeper keys (`callkeeper.md` §1): the user key serves `get` and `getWithRole`, the role key
/// `getByRole`. Real keys are 16 alphanumeric characters.
public struct CallKeeperCredentials: Sendable, Equatable {
    public var userKey: String
    public var roleKey: String
    public init(userKey: String = "ckuser0000000001", roleKey: String = "ckrole0000000001") {
        self.userKey = userKey; self.roleKey = roleKey
    }
}

/// CallRail credentials (`callrail.md` §1, §7): one user API key that sees every sandbox account,
/// and the company signing key of the webhooks' `Signature` header.
public struct CallRailCredentials: Sendable, Equatable {
    public var apiKey: String
    public var signingKey: String
    public init(apiKey: String = "callrail_sandbox_api_key", signingKey: String = "callrail_sandbox_signing_key") {
        self.apiKey = apiKey; self.signingKey = signingKey
    }
}

/// JustCall credentials (`justcall.md` §1, §7). JustCall has no accounts: a key pair is a team. The
/// first sandbox account uses these; account *n* (from 2) uses `apiKey-n` with the same secret,
/// which also signs webhooks.
public struct JustCallCredentials: Sendable, Equatable {
    public var apiKey: String
    public var apiSecret: String
    public init(apiKey: String = "justcall_sandbox_key", apiSecret: String = "justcall_sandbox_secret") {
        self.apiKey = apiKey; self.apiSecret = apiSecret
    }
}

/// HubSpot credentials (`hubspot.md` §1, §8): a private-app access token per portal (account 1
/// uses `accessToken`, account *n* from 2 `accessToken-n`) and the app's client secret, which
/// signs webhooks (v3).
public struct HubSpotCredentials: Sendable, Equatable {
    public var accessToken: String
    public var clientSecret: String
    public init(accessToken: String = "hubspot-sandbox-token", clientSecret: String = "hubspot-sandbox-client-secret") {
        self.accessToken = accessToken; self.clientSecret = clientSecret
    }
}

/// CleverTap credentials (`clevertap.md` §1): the project (account) id and its passcode, sent as
/// `X-CleverTap-Account-Id` / `X-CleverTap-Passcode`. Account 1 is `accountID`, account *n* from 2
/// `accountID-n`, all with the same passcode.
public struct CleverTapCredentials: Sendable, Equatable {
    public var accountID: String
    public var passcode: String
    public init(accountID: String = "TEST-R78-ZZ1", passcode: String = "clevertap-sandbox-passcode") {
        self.accountID = accountID; self.passcode = passcode
    }
}

/// Five9 credentials (`five9.md` §1): an administrator user, HTTP Basic. Domain 1 uses `username`,
/// domain *n* from 2 `username-n`, all with the same password.
public struct Five9Credentials: Sendable, Equatable {
    public var username: String
    public var password: String
    public init(username: String = "five9-sandbox-admin", password: String = "five9-sandbox-password") {
        self.username = username; self.password = password
    }
}

/// What a client sends to read one sandbox account: the key (and secret), and the exact
/// `Authorization` header value where the vendor uses one.
public struct SandboxCredential: Sendable, Equatable, CustomStringConvertible {
    public var key: String
    public var secret: String?
    /// The `Authorization` header value; nil for CallKeeper, whose key goes in the URL.
    public var authorization: String?

    public var description: String {
        var text = "key=\(key)"
        if let secret { text += " secret=\(secret)" }
        if let authorization { text += " (Authorization: \(authorization))" }
        return text
    }

    static func basic(_ user: String, _ password: String) -> SandboxCredential {
        SandboxCredential(key: user, secret: password,
                          authorization: "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())
    }
}
