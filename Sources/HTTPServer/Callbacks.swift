import CMicroHTTPD
import Foundation
import Synchronization

/// Collects headers / query arguments into a dictionary passed as `cls`.
private let collectValue: MHD_KeyValueIterator = { cls, _, key, value in
    guard let cls, let key else { return .YES }
    let box = cls.assumingMemoryBound(to: [String: String].self)
    let name = String(cString: key)
    if box.pointee[name] == nil { box.pointee[name] = value.map { String(cString: $0) } ?? "" }
    return .YES
}

private func queue(_ response: HTTPResponse, for state: RequestState, on connection: OpaquePointer?) -> MHD_Result {
    state.server?.observer?(state.path, response.status)
    let mhdResponse = response.body.withUnsafeBytes { bytes in
        MHD_create_response_from_buffer(bytes.count, UnsafeMutableRawPointer(mutating: bytes.baseAddress),
                                        .RESPMEM_MUST_COPY)
    }
    guard let mhdResponse else { return .NO }
    for (name, value) in response.headers { _ = MHD_add_response_header(mhdResponse, name, value) }
    let result = MHD_queue_response(connection, UInt32(response.status), mhdResponse)
    MHD_destroy_response(mhdResponse)
    return result
}

/// MHD's access handler: called once with the headers, then once per body chunk, then once with
/// an empty chunk (body complete), and again after each resume.
let accessHandler: MHD_AccessHandlerCallback = { cls, connection, url, method, _, uploadData, uploadDataSize, conCls in
    guard let cls, let connection, let conCls, let uploadDataSize else { return .NO }
    let server = Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue()

    guard let existing = conCls.pointee else {
        // First call: headers are in; set up the request's state.
        let state = RequestState(connection: connection, server: server)
        state.method = method.map { String(cString: $0) } ?? ""
        state.path = url.map { String(cString: $0) } ?? "/"
        var headers: [String: String] = [:]
        _ = withUnsafeMutablePointer(to: &headers) { MHD_get_connection_values(connection, .HEADER_KIND, collectValue, $0) }
        state.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { first, _ in first })
        var query: [String: String] = [:]
        _ = withUnsafeMutablePointer(to: &query) { MHD_get_connection_values(connection, .GET_ARGUMENT_KIND, collectValue, $0) }
        state.query = query
        if let length = state.headers["content-length"].flatMap(Int.init), length > server.configuration.maxBodyBytes {
            state.tooLarge = true
        }
        conCls.pointee = Unmanaged.passRetained(state).toOpaque()
        return .YES
    }
    let state = Unmanaged<RequestState>.fromOpaque(existing).takeUnretainedValue()

    if uploadDataSize.pointee > 0 {
        // A body chunk: keep it unless over the cap (then drop it and answer 413 at the end).
        if !state.tooLarge, let uploadData {
            if state.body.count + uploadDataSize.pointee > server.configuration.maxBodyBytes {
                state.tooLarge = true
                state.body = []
            } else {
                state.body.append(contentsOf: UnsafeRawBufferPointer(start: uploadData, count: uploadDataSize.pointee))
            }
        }
        uploadDataSize.pointee = 0
        return .YES
    }

    // The request is in full: its read deadline no longer applies.
    server.readDeadlines.received(connection)
    if state.tooLarge {
        return queue(.error(413, "body larger than \(server.configuration.maxBodyBytes) bytes"), for: state, on: connection)
    }
    if state.dispatched {
        // Resumed: the responder has the answer.
        guard let response = state.takeResponse() else { return .YES }
        return queue(response, for: state, on: connection)
    }
    if server.draining.load(ordering: .acquiring) {
        return queue(.error(503, "server shutting down"), for: state, on: connection)
    }
    state.dispatched = true
    state.deadline = .now + server.configuration.responseDeadline
    server.pending.withLock { $0[ObjectIdentifier(state)] = state }
    server.handler(state.request, state)
    if let response = state.answerOrSuspend() {
        return queue(response, for: state, on: connection)
    }
    return .YES
}

/// Releases the request state retained in `con_cls`; the connection's next request is due within
/// the read deadline.
let completedHandler: MHD_RequestCompletedCallback = { cls, connection, conCls, _ in
    if let cls, let connection {
        Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue().readDeadlines.finished(connection)
    }
    guard let conCls, let existing = conCls.pointee else { return }
    let state = Unmanaged<RequestState>.fromOpaque(existing).takeRetainedValue()
    state.server?.pending.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(state)) }
    conCls.pointee = nil
}

/// Tracks connections as MHD opens and closes them, for their read deadlines.
let connectionNotifier: MHD_NotifyConnectionCallback = { cls, connection, _, code in
    guard let cls, let connection else { return }
    let deadlines = Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue().readDeadlines
    switch code {
    case .CONNECTION_NOTIFY_STARTED: deadlines.opened(connection)
    default: deadlines.closed(connection)
    }
}
