@testable import DirectoryCache
import Testing

@Suite struct RoleTests {
    @Test(arguments: [
        ("hidden_user", Role.hiddenUser), ("UMA Hidden User", .hiddenUser), ("uma hidden user", .hiddenUser),
        ("user", .user), ("UMA User", .user), ("  USER ", .user),
        ("manager", .manager), ("UMA Manager", .manager),
        ("advanced_manager", .advancedManager), ("UMA Advanced Manager", .advancedManager),
        ("Advanced Manager", .advancedManager), ("advanced-manager", .advancedManager),
        ("admin", .admin), ("UMA Admin", .admin), ("ADMIN", .admin),
    ])
    func parsesRawValuesAndGroupNames(text: String, role: Role) {
        #expect(Role(text: text) == role)
    }

    @Test(arguments: ["", "  ", "administrator", "officeAdmin", "UMA", "guest"])
    func rejectsUnknownText(text: String) {
        #expect(Role(text: text) == nil)
    }

    @Test func orderIsHiddenUserUserManagerAdvancedManagerAdmin() {
        #expect(Role.allCases.sorted() == [.hiddenUser, .user, .manager, .advancedManager, .admin])
        #expect(Role.lowest([.admin, .manager, .advancedManager]) == .manager)
        #expect(Role.lowest([.user, .hiddenUser]) == .hiddenUser)
        #expect(Role.lowest([Role]()) == nil)
    }

    @Test func hiddenUserMeetsUserMinimumButNotManager() {
        #expect(Role.hiddenUser.meets(.user))
        #expect(Role.hiddenUser.meets(.hiddenUser))
        #expect(!Role.hiddenUser.meets(.manager))
        #expect(!Role.manager.meets(.advancedManager))
        #expect(Role.admin.meets(.admin))
    }
}
