// The limits per user (user_limits.hpp): a user's share, root's reserve
// whatever the others hold, and slots given back.
#include "heapwatch/intake/user_limits.hpp"

#include <gtest/gtest.h>

namespace {

using memproxy::heapwatch::UserLimits;
using memproxy::heapwatch::UserSlots;

TEST(UserSlotsTest, AUserButRootHoldsAtMostItsShare) {
  UserSlots slots(UserLimits{10, 3, 2});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(slots.take(1000), "");
  EXPECT_NE(slots.take(1000).find("the per-user limit"), std::string::npos);
  EXPECT_EQ(slots.held_by(1000), 3u);
  EXPECT_EQ(slots.take(1001), "") << "another user is not refused for the first one's slots";
  slots.release(1000);
  EXPECT_EQ(slots.take(1000), "") << "a slot given back can be taken again";
}

TEST(UserSlotsTest, OtherUsersTogetherNeverTakeRootsReserve) {
  UserSlots slots(UserLimits{10, 3, 2});
  // Users 1000.. fill the shared part (10 - 2 = 8).
  uid_t uid = 1000;
  size_t taken = 0;
  for (int i = 0; i < 20; ++i) {
    if (slots.take(uid).empty()) ++taken;
    if (slots.held_by(uid) == 3) ++uid;
  }
  EXPECT_EQ(taken, 8u);
  EXPECT_NE(slots.take(2000).find("users other than root"), std::string::npos) << "a new user finds the shared part full";
  EXPECT_EQ(slots.take(0), "");
  EXPECT_EQ(slots.take(0), "") << "root has its reserve";
  EXPECT_NE(slots.take(0).find("all users"), std::string::npos) << "and no more than the total";
}

TEST(UserSlotsTest, RootIsNotLimitedPerUserButByTheTotal) {
  UserSlots slots(UserLimits{10, 3, 2});
  for (int i = 0; i < 7; ++i) EXPECT_EQ(slots.take(0), "");
  EXPECT_EQ(slots.take(1000), "") << "root's slots beyond its reserve still leave the others theirs";
  EXPECT_EQ(slots.take(1000), "");
  EXPECT_EQ(slots.take(0), "");
  EXPECT_NE(slots.take(1000).find("all users"), std::string::npos);
  EXPECT_EQ(slots.total(), 10u);
}

TEST(UserSlotsTest, ReleasingWhatWasNeverTakenChangesNothing) {
  UserSlots slots(UserLimits{2, 1, 1});
  slots.release(1000);
  EXPECT_EQ(slots.take(1000), "");
  EXPECT_NE(slots.take(1001), "") << "the one shared slot is held";
  EXPECT_EQ(slots.take(0), "");
}

}  // namespace
